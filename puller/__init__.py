"""The client: pull, push and copy images, and the local image store.

    store.py        the local store (an OCI layout at <root>/images); stdlib only,
                    the runtime's entry point (LocalStore.resolve_image)
    credentials.py  docker's config.json and credential helpers
    auth.py         WWW-Authenticate challenges, tokens cached per scope
    transport.py    aiohttp session: scheme, auth, retries, redirects
    fastget.py      fast path for blob bodies (BufferedProtocol into blocks)
    remote.py       one remote repository: manifests, blobs, tags (verified)
    upload.py       blob uploads: mount, monolithic PUT, chunked PATCH
    layout_io.py    downloads into ingest/: verify, resume, commit by rename
    endpoints.py    image sources and destinations (registry, OCI layout)
    copy.py         the one walk behind pull, push and copy
    locations.py    `pyreg copy` spellings: docker://, oci:, docker-archive:
    docker_archive.py, archive.py   save/load (docker-archive, OCI archive/layout)
    listing.py, progress.py, errors.py, operations.py   what the CLI shows and calls
"""
