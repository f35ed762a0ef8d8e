"""`/v2/<name>/tags/list`: the repository's tags, lexically, paginated with
`n` and `last` and a `Link: <...>; rel="next"` header while more remain."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from aiohttp import web

from ocispec.errors import ErrorCode, OciError

from ..middlewares import API_VERSION_HEADER
from .params import page, repo_name, store_of, url_for

MAX_TAGS_PAGE = 10000


def page_response(request: web.Request, path: str, body: dict, key: str, items: list[str],
                  n: int | None) -> web.Response:
    """`items` holds up to n + 1 entries: the page, and one more when more
    remain, which becomes the `Link` to the next page of `path`."""
    headers = {}
    if n is not None and len(items) > n:
        items = items[:n]
        if items:
            query = urlencode({"n": n, "last": items[-1]})
            headers["Link"] = f'<{url_for(request, path)}?{query}>; rel="next"'
    return web.Response(body=json.dumps({**body, key: items}).encode(), content_type="application/json",
                        headers={**API_VERSION_HEADER, **headers})


async def list_tags(request: web.Request) -> web.Response:
    name = repo_name(request)
    n, last = page(request, MAX_TAGS_PAGE, None)
    tags = await store_of(request).tags.names(name, last, None if n is None else n + 1)
    if tags is None:
        raise OciError(ErrorCode.NAME_UNKNOWN, detail={"name": name})
    return page_response(request, f"/v2/{name}/tags/list", {"name": name}, "tags", tags, n)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_route("GET", "/v2/{name:[^{}]+}/tags/list", list_tags)
