"""The client: pull, push and copy images, and the local image store.
From the bottom up (each module imports only modules listed above it):

    errors.py       every failure of the client, under PullerError
    store.py        the local store (an OCI layout at <root>/images); the
                    runtime's entry point (LocalStore.resolve_image)
    credentials.py  docker's config.json and credential helpers
    streams.py      blob bytes read in I/O threads: chunks, or a pump into a
                    file through a verifier
    http/           HTTP/1.1 once: connections kept alive, TLS, chunked
                    bodies, auth challenges, retries, redirects
    remote.py       one remote repository, one method per registry endpoint
    layout_io.py    downloads into ingest/: verify, resume, commit by rename
    upload.py       how a blob is pushed: mount, sendfile PUT, PATCHes
    copy_ends.py    image sources and destinations (registry, OCI layout)
    copy.py         the one walk behind pull, push and copy
    locations.py    `pyreg copy` spellings: docker://, oci:, docker-archive:
    docker_archive.py, archive.py   save/load (docker-archive, OCI archive/layout)
    listing.py, progress.py         what the CLI shows
    operations.py   the verbs, as the command line calls them
"""
