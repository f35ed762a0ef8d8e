"""HTTP/1.1 to registries, written once (the shape of go-containerregistry's
remote/transport). From the bottom up:

    connection.py  one blocking socket, plain or TLS: request out, answer head
                   in, body framed by Content-Length, chunks or the close
    pool.py        connections kept alive per origin
    tls.py         the one place that builds SSL contexts; which hosts are
                   verified, which may speak plain HTTP
    response.py    status, headers, and a body that iterates in chunks or
                   pumps into a file through a verifier (puller/streams.py)
    request.py     one exchange: a body from memory, a file (sendfile) or a
                   stream of chunks; progress taken back when it fails
    auth.py        Basic and Bearer challenges; the credentials and the
                   tokens (per host, per scope) live here and only here
    transport.py   the loop: scheme, auth, retries, redirects

Blocking socket work runs in the client's I/O threads; callers see
coroutines. Nothing here knows about images: puller/remote.py has one
method per registry endpoint on top.
"""
