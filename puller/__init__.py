"""The client: pull, push and copy images, and the local image store.

    store.py        the local store (an OCI layout at <root>/images); stdlib only,
                    the runtime's entry point (LocalStore.resolve_image)
    credentials.py  docker's config.json and credential helpers
    auth.py         WWW-Authenticate challenges, tokens cached per scope
    transport.py    aiohttp session (made at first use): scheme, auth, retries, redirects
    lazyimport.py   aiohttp is loaded only when a request falls back to it
    fastget.py      fast path for GETs: blocking sockets in worker threads, a blob
                    body pumped from socket to file (recv_into, hash, write)
    fastsend.py     fast path for requests that send: file bodies by sendfile
    fastpush.py     pushing over fastsend: HEAD, POST + monolithic PUT, manifests
    remote.py       one remote repository: manifests, blobs, tags (verified)
    upload.py       blob uploads: mount, monolithic PUT, chunked PATCH
    layout_io.py    downloads into ingest/: verify, resume, commit by rename
    endpoints.py    image sources and destinations (registry, OCI layout)
    copy.py         the one walk behind pull, push and copy
    locations.py    `pyreg copy` spellings: docker://, oci:, docker-archive:
    docker_archive.py, archive.py   save/load (docker-archive, OCI archive/layout)
    listing.py, progress.py, errors.py, operations.py   what the CLI shows and calls
"""
