"""`/v2/<name>/tags/list` of a proxied repository: the upstream's list under
the local name (with `n` and `last` passed on, and a next-page `Link` of our
own), or the tags cached here when the upstream cannot answer."""
from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

from aiohttp import web

from ..handlers.params import url_for
from ..middlewares import API_VERSION_HEADER
from .errors import UpstreamError, UpstreamLied, UpstreamNotFound
from .upstream import UpstreamClient

log = logging.getLogger("pyreg.registry.proxy")
MAX_TAG_LIST = 16 * 1024 * 1024


async def upstream_tags(request: web.Request, client: UpstreamClient, name: str) -> web.Response | None:
    """The upstream's page of tags, or None (logged) when the cache must answer."""
    query = {key: request.query[key] for key in ("n", "last") if key in request.query}
    tail = "tags/list" + (f"?{urlencode(query)}" if query else "")
    try:
        async with client.open("GET", name, tail) as response:
            body = await response.content.read(MAX_TAG_LIST + 1)
            more = "Link" in response.headers
        tags = _tags_of(body)
    except UpstreamNotFound:
        return None  # the cached tags, if any; NAME_UNKNOWN otherwise
    except UpstreamError as error:
        log.warning("proxy: tags of %s listed from the cache: %s", name, error.reason)
        return None
    headers = dict(API_VERSION_HEADER)
    if more and tags and "n" in query:
        next_query = urlencode({"n": query["n"], "last": tags[-1]})
        headers["Link"] = f'<{url_for(request, f"/v2/{name}/tags/list")}?{next_query}>; rel="next"'
    return web.Response(body=json.dumps({"name": name, "tags": tags}).encode(),
                        content_type="application/json", headers=headers)


def _tags_of(body: bytes) -> list[str]:
    """The list of a `{"name": ..., "tags": [...]}` body (Distribution sends
    null for none)."""
    try:
        data = json.loads(body) if len(body) <= MAX_TAG_LIST else None
    except (ValueError, RecursionError):
        data = None
    tags = data.get("tags", False) if isinstance(data, dict) else False
    tags = [] if tags is None else tags
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise UpstreamLied("the upstream's tag list is not a list of tags")
    return tags
