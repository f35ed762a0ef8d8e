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

from ..middlewares import is_api_request, route_template
from .caller import GRANT_KEY, REQUIREMENT_KEY
from .controllers import AccessController, attempt_of
from .scopes import RouteKind, required_access, route_kind


def auth_middleware(controller: AccessController):
    @web.middleware
    async def authorize(request: web.Request, handler):
        if not is_api_request(request):
            return await handler(request)
        template = route_template(request)
        kind = route_kind(template) if template is not None else RouteKind.OTHER
        requirement = required_access(request.method, kind, request.match_info.get("name"),
                                      request.query)
        request[GRANT_KEY] = await controller.authorize(attempt_of(request), requirement)
        request[REQUIREMENT_KEY] = requirement
        return await handler(request)
    return authorize
