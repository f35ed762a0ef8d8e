"""The auth middleware: every `/v2` request is authorized before its handler runs.

It sits inside the errors middleware, which renders the 401/403/429 the
controller raises. The route's template gives the route kind, the
requirement follows from it (scopes.py), and the caller's `Grant` and the
`Requirement` are left on the request for the handlers that refine access
(a mount's source, the catalog's names, an upload's owner). Paths outside
`/v2` (`/token`, say) are not the registry API and pass untouched; a `/v2`
path that matches no route still needs a caller who signed in, so a
stranger cannot even probe which endpoints exist.
"""
from __future__ import annotations

from aiohttp import web

from .controllers import AccessController, attempt_of
from .grants import Grant
from .scopes import Requirement, RouteKind, required_access, route_kind

# Typed request keys where aiohttp has them (3.12+); plain strings before.
if hasattr(web, "RequestKey"):
    GRANT_KEY = web.RequestKey("pyreg_auth_grant", Grant)
    REQUIREMENT_KEY = web.RequestKey("pyreg_auth_requirement", Requirement)
else:  # pragma: no cover
    GRANT_KEY, REQUIREMENT_KEY = "pyreg_auth_grant", "pyreg_auth_requirement"


def auth_middleware(controller: AccessController):
    @web.middleware
    async def authorize(request: web.Request, handler):
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else request.path
        if "/v2" not in template:
            return await handler(request)
        kind = route_kind(template) if resource is not None else RouteKind.OTHER
        requirement = required_access(request.method, kind, request.match_info.get("name"),
                                      request.query)
        request[GRANT_KEY] = await controller.authorize(attempt_of(request), requirement)
        request[REQUIREMENT_KEY] = requirement
        return await handler(request)
    return authorize


def grant_of(request: web.Request) -> Grant | None:
    """The caller's grant, or None when the registry runs without auth."""
    return request.get(GRANT_KEY)


def requirement_of(request: web.Request) -> Requirement | None:
    return request.get(REQUIREMENT_KEY)
