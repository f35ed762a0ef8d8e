"""`/v2/_catalog`: repository names, paginated like the tags list, with a
bounded page size so one request cannot ask for an unbounded answer."""
from __future__ import annotations

from aiohttp import web

from .params import page, store_of
from .tags import json_response, paginate

MAX_CATALOG_PAGE = 1000


async def catalog(request: web.Request) -> web.Response:
    n, last = page(request, MAX_CATALOG_PAGE, MAX_CATALOG_PAGE)
    names = await store_of(request).repositories()
    chosen, link = paginate(names, n, last, "/v2/_catalog")
    return json_response({"repositories": chosen}, link)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_route("GET", "/v2/_catalog", catalog)
