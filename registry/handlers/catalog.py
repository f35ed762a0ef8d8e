"""`/v2/_catalog`: repository names, paginated like the tags list, with a
bounded page size so one request cannot ask for an unbounded answer. A page
walks only the directories it needs (see `store/catalog.py`)."""
from __future__ import annotations

from aiohttp import web

from .params import page, store_of
from .tags import page_response

MAX_CATALOG_PAGE = 1000


async def catalog(request: web.Request) -> web.Response:
    n, last = page(request, MAX_CATALOG_PAGE, MAX_CATALOG_PAGE)
    names = await store_of(request).repositories(n + 1, last)
    return page_response(request, "/v2/_catalog", {}, "repositories", names, n)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_route("GET", "/v2/_catalog", catalog)
