"""`/v2/`: the version check every client makes first."""
from __future__ import annotations

from aiohttp import web

from ..middlewares import API_VERSION_HEADER


async def version_check(request: web.Request) -> web.Response:
    return web.Response(body=b"{}", content_type="application/json", headers=API_VERSION_HEADER)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v2/", version_check)  # add_get also answers HEAD
    router.add_get("/v2", version_check)
