"""The pull-through cache: repositories under a configured prefix are
mirrored from an upstream registry (registry/config/proxy.py has the
settings and the ttl's meaning).

    middleware.py     picks the requests for proxied repositories, after access control
      ├─ manifests.py   fetch a manifest into the store (by digest once, by tag per ttl)
      ├─ blobs.py       serve a blob not yet here from one upstream transfer per digest
      │   └─ transfer.py  upstream -> Verifier -> storage, fanned out to the first client
      └─ tags.py        the upstream's tag list, the cached one when it is down
    upstream.py       requests to one upstream, its failures as errors.py's
      └─ upstream_auth.py  Basic and Bearer-token challenges

What is fetched is stored in the registry's own layout, so everything else
(the blob handler's sendfile, ranges, the catalog, garbage collection)
sees a cached repository as an ordinary one.
"""
from __future__ import annotations

from aiohttp import web

from ..config import RegistryConfig
from ..store import RegistryStore


def mount_proxy(app: web.Application, config: RegistryConfig, store: RegistryStore) -> None:
    """Add the cache's middleware (innermost: access control has run) and its
    client session's lifetime, when upstreams are configured."""
    if config.proxy is None:
        return
    from .middleware import Proxy
    proxy = Proxy(config.proxy, store)
    app.middlewares.append(proxy.middleware)
    app.cleanup_ctx.append(proxy.lifetime)
