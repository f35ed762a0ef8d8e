"""`/v2/<name>/referrers/<digest>`: an OCI index of the manifests whose
`subject` is that digest, optionally filtered by `artifactType`."""
from __future__ import annotations

import json

from aiohttp import web

from ocispec import mediatypes as mt

from ..middlewares import API_VERSION_HEADER
from .params import path_digest, repo_name, store_of


async def list_referrers(request: web.Request) -> web.Response:
    name, subject = repo_name(request), path_digest(request)
    entries = await store_of(request).referrers_of(name, subject)
    headers = {**API_VERSION_HEADER, "Content-Type": mt.OCI_INDEX}
    wanted = request.query.get("artifactType")
    if wanted:
        entries = [entry for entry in entries if entry.get("artifactType") == wanted]
        headers["OCI-Filters-Applied"] = "artifactType"
    index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries}
    return web.Response(body=json.dumps(index).encode(), headers=headers)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_route("GET", "/v2/{name:[^{}]+}/referrers/{digest}", list_referrers)
