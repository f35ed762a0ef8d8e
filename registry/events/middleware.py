"""Events from the API's own answers: the route's kind, the method, the status
and the headers a handler already set say what happened, so no handler
knows about notifications. It never reads a body.

    manifest GET 200          pull       manifest PUT 201     push
    blob GET 200/206/307      pull       upload PUT 201        push (a blob)
    POST ?digest= 201         push       POST ?mount= 201      mount
    manifest/blob DELETE 202  delete

Sizes the response does not carry (a finished upload, a redirect) are
looked up by the notifier in the background.
"""
from __future__ import annotations

from aiohttp import web

from ..auth.caller import grant_of
from ..auth.scopes import RouteKind, route_kind
from ..request_ids import request_id
from .envelope import BLOB_MEDIA_TYPE, RequestInfo, make_event, target
from .notifier import Notifier


def events_middleware(notifier: Notifier):
    @web.middleware
    async def notify(request: web.Request, handler):
        response = await handler(request)
        event = event_for(request, response, notifier)
        if event is not None:
            notifier.publish(event)
        return response
    return notify


def event_for(request: web.Request, response: web.StreamResponse, notifier: Notifier) -> dict | None:
    resource = request.match_info.route.resource
    if resource is None:
        return None
    builder = _BUILDERS.get((route_kind(resource.canonical), request.method))
    built = builder(request, response) if builder is not None else None
    if built is None:
        return None
    action, what = built
    grant = grant_of(request)
    return make_event(action, what, request_info(request), notifier.source,
                      grant.subject if grant is not None else None)


def request_info(request: web.Request) -> RequestInfo:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    addr = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else (request.remote or "")
    return RequestInfo(id=request_id(request), addr=addr,
                       host=request.host, method=request.method,
                       useragent=request.headers.get("User-Agent", ""))


def _url(request: web.Request, name: str, kind: str, reference: str) -> str:
    prefix = request.path[:request.path.find("/v2/")]
    return str(request.url.origin()) + f"{prefix}/v2/{name}/{kind}/{reference}"


def _tag_of(request: web.Request) -> str | None:
    reference = request.match_info.get("reference", "")
    return None if not reference or ":" in reference else reference


def _manifest_pulled(request, response):
    if response.status != 200:
        return None
    name, digest = request.match_info["name"], response.headers.get("Docker-Content-Digest")
    return "pull", target(name, response.content_type, digest, response.content_length,
                          _url(request, name, "manifests", digest), _tag_of(request))


def _manifest_pushed(request, response):
    if response.status != 201:
        return None
    name, digest = request.match_info["name"], response.headers.get("Docker-Content-Digest")
    media_type = request.headers.get("Content-Type", "").split(";")[0].strip() or None
    return "push", target(name, media_type, digest, request.content_length,
                          _url(request, name, "manifests", digest), _tag_of(request))


def _deleted(request, response):
    if response.status != 202:
        return None
    name = request.match_info["name"]
    reference = request.match_info.get("reference") or request.match_info.get("digest")
    if _tag_of(request) is not None:
        return "delete", target(name, tag=reference)
    return "delete", target(name, digest=reference)


def _blob_pulled(request, response):
    if response.status not in (200, 206, 307):
        return None
    name, digest = request.match_info["name"], request.match_info["digest"]
    size = response.content_length if response.status == 200 else None
    return "pull", target(name, BLOB_MEDIA_TYPE, digest, size, _url(request, name, "blobs", digest))


def _blob_pushed(request, response):
    if response.status != 201:
        return None
    name, digest = request.match_info["name"], response.headers.get("Docker-Content-Digest")
    url = _url(request, name, "blobs", digest)
    if "mount" in request.query:
        return "mount", target(name, BLOB_MEDIA_TYPE, digest, None, url,
                               from_repository=request.query.get("from"))
    size = request.content_length if request.method == "POST" else None
    return "push", target(name, BLOB_MEDIA_TYPE, digest, size, url)


_BUILDERS = {
    (RouteKind.MANIFEST, "GET"): _manifest_pulled,
    (RouteKind.MANIFEST, "PUT"): _manifest_pushed,
    (RouteKind.MANIFEST, "DELETE"): _deleted,
    (RouteKind.BLOB, "GET"): _blob_pulled,
    (RouteKind.BLOB, "DELETE"): _deleted,
    (RouteKind.UPLOAD, "PUT"): _blob_pushed,
    (RouteKind.UPLOAD_START, "POST"): _blob_pushed,
}
