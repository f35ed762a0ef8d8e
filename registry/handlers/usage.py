"""Storage usage beside `/v2/_catalog` (pyreg's own routes), a blob shared
by many repositories counted once in the total (registry/gc/usage.py):

    GET /v2/_usage            every repository the caller may list, and totals
    GET /v2/<name>/_usage     one repository's row

The global one needs what the catalog needs (`registry:catalog:*`) and,
like the catalog, shows only the repositories the caller's grant lists;
one repository's needs `pull` on it. Answers may be up to
store/usage_meter.py's MAX_AGE old.
"""
from __future__ import annotations

import json

from aiohttp import web

from ocispec.errors import ErrorCode, OciError

from ..auth.caller import grant_of
from ..middlewares import API_VERSION_HEADER
from .params import repo_name, store_of


def _json(body: dict) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), content_type="application/json",
                        headers=API_VERSION_HEADER)


async def registry_usage(request: web.Request) -> web.Response:
    grant = grant_of(request)
    usage = await store_of(request).usage.current()
    return _json(usage.report(grant.may_list if grant else None))


async def repository_usage(request: web.Request) -> web.Response:
    name = repo_name(request)
    usage = await store_of(request).usage.current()
    if name not in usage.used:
        raise OciError(ErrorCode.NAME_UNKNOWN, detail={"name": name})
    return _json(usage.report({name}.__contains__)["repositories"][0])


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v2/_usage", registry_usage)
    router.add_get("/v2/{name:[^{}]+}/_usage", repository_usage)
