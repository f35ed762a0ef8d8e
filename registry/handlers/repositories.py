"""`DELETE /v2/_repositories/<name>`: delete a whole repository (pyreg's own
route; Distribution has none). Its tags, manifests, layer links, referrers
and uploads go; blobs stay for garbage collection to free when nothing
else uses them. Needs `storage.delete.enabled` and, with access control,
`delete` on the repository. No repository name can collide with the route:
a name's components never start with '_'.

    202 {"name": "team/app", "tags": 3, "manifests": 5}
"""
from __future__ import annotations

import json

from aiohttp import web

from ocispec.errors import ErrorCode, OciError

from ..middlewares import API_VERSION_HEADER
from .params import config_of, repo_name, store_of

ROUTE = "/v2/_repositories/{name:[^{}]+}"


async def delete_repository(request: web.Request) -> web.Response:
    name = repo_name(request)
    if not config_of(request).delete_enabled:
        raise OciError(ErrorCode.UNSUPPORTED, "deletes are disabled on this registry", status=405)
    deleted = await store_of(request).delete_repository(name)
    if deleted is None:
        raise OciError(ErrorCode.NAME_UNKNOWN, detail={"name": name})
    body = {"name": deleted.name, "tags": deleted.tags, "manifests": deleted.manifests}
    return web.Response(status=202, body=json.dumps(body).encode(), content_type="application/json",
                        headers=API_VERSION_HEADER)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_route("DELETE", ROUTE, delete_repository)
