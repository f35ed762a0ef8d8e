"""`/v2/<name>/tags/list`: the repository's tags, lexically, paginated with
`n` and `last` and a `Link: <...>; rel="next"` header while more remain."""
from __future__ import annotations

import bisect
import json
from urllib.parse import urlencode

from aiohttp import web

from ocispec.errors import ErrorCode, OciError

from ..middlewares import API_VERSION_HEADER
from .params import page, repo_name, store_of

MAX_TAGS_PAGE = 10000


def paginate(items: list[str], n: int | None, last: str, path: str) -> tuple[list[str], dict]:
    """The page after `last` of at most `n` sorted items, and its Link header."""
    rest = items[bisect.bisect_right(items, last):] if last else items
    if n is None or len(rest) <= n:
        return rest, {}
    chosen = rest[:n]
    if not chosen:
        return chosen, {}
    query = urlencode({"n": n, "last": chosen[-1]})
    return chosen, {"Link": f'<{path}?{query}>; rel="next"'}


def json_response(data: dict, headers: dict) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), content_type="application/json",
                        headers={**API_VERSION_HEADER, **headers})


async def list_tags(request: web.Request) -> web.Response:
    name = repo_name(request)
    n, last = page(request, MAX_TAGS_PAGE, None)
    tags = await store_of(request).tags.names(name)
    if tags is None:
        raise OciError(ErrorCode.NAME_UNKNOWN, detail={"name": name})
    chosen, link = paginate(tags, n, last, f"/v2/{name}/tags/list")
    return json_response({"name": name, "tags": chosen}, link)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_route("GET", "/v2/{name:[^{}]+}/tags/list", list_tags)
