"""`/v2/_catalog`: repository names, paginated like the tags list, with a
bounded page size so one request cannot ask for an unbounded answer. A page
walks only the directories it needs (see `store/catalog.py`). With access
control, a caller sees only the repositories it may pull (or that its
token lists, `Grant.may_list`); the walk goes past the others, so a caller
who may see little pays for the walk, never for a longer answer."""
from __future__ import annotations

from aiohttp import web

from ..auth.caller import grant_of
from .params import page, store_of
from .tags import page_response

MAX_CATALOG_PAGE = 1000


async def catalog(request: web.Request) -> web.Response:
    n, last = page(request, MAX_CATALOG_PAGE, MAX_CATALOG_PAGE)
    grant = grant_of(request)
    names = await store_of(request).repositories(n + 1, last, grant.may_list if grant else None)
    return page_response(request, "/v2/_catalog", {}, "repositories", names, n)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_route("GET", "/v2/_catalog", catalog)
