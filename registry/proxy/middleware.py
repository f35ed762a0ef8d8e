"""Which requests the cache takes: reads of a proxied repository's
manifests, blobs and tags. The cache fills the store, then the registry's
own handler answers from it; writes are refused with 405 UNSUPPORTED
unless the upstream's `push` allows them (then they stay local).

The middleware runs innermost, after access control: a client needs the
same pull right on a proxied repository as on any other.
"""
from __future__ import annotations

import contextlib

from aiohttp import web

from ocispec.digest import Digest
from ocispec.errors import ErrorCode, OciError
from ocispec.reference import is_valid_tag, validate_name

from ..config.proxy import ProxySettings, Upstream
from ..middlewares import READ_METHODS, route_template
from ..store import RegistryStore
from .blobs import BlobCache
from .manifests import ManifestCache
from .tags import upstream_tags
from .upstream import UpstreamClient, open_session


class Proxy:
    def __init__(self, settings: ProxySettings, store: RegistryStore):
        self.settings = settings
        self.manifests = ManifestCache(store)
        self.blobs = BlobCache(store)
        self.clients: dict[Upstream, UpstreamClient] = {}

    async def lifetime(self, _app: web.Application):
        session = open_session()
        self.clients = {upstream: UpstreamClient(upstream, session) for upstream in self.settings.upstreams}
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await self.blobs.close()
            await session.close()

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        raw_name = request.match_info.get("name")
        upstream = self.settings.upstream_for(raw_name) if raw_name is not None else None
        if upstream is None:
            return await handler(request)
        name = validate_name(raw_name)
        if request.method not in READ_METHODS:
            if upstream.push:
                return await handler(request)
            raise OciError(ErrorCode.UNSUPPORTED, f"{name} is a pull-through cache of "
                           f"{upstream.remote_url}: pushes are refused", status=405)
        route = route_template(request) or ""
        client = self.clients[upstream]
        if route.endswith("/manifests/{reference}"):
            await self._manifest(client, name, request.match_info["reference"])
        elif route.endswith("/blobs/{digest}"):
            digest = Digest.parse(request.match_info["digest"])
            return await self.blobs.serve(request, handler, client, name, digest)
        elif route.endswith("/tags/list") and request.method == "GET":
            response = await upstream_tags(request, client, name)
            if response is not None:
                return response
        return await handler(request)

    async def _manifest(self, client: UpstreamClient, name: str, reference: str) -> None:
        if Digest.is_valid(reference):
            await self.manifests.ensure_digest(client, name, Digest.parse(reference))
        elif is_valid_tag(reference):
            await self.manifests.ensure_tag(client, name, reference)
        # anything else: the handler refuses it as it would anywhere
