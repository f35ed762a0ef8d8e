"""Who is calling, as the auth middleware leaves it on the request for the
handlers that refine access: a mount's source, the catalog's names, an
upload's owner. Every handler module imports this, with auth configured or
not, so it imports nothing of registry.auth at run time: grants.py and
scopes.py (about 9 ms of start-up, python -X importtime) load only with
the middleware, when auth is configured.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .grants import Grant
    from .scopes import Requirement

# Typed request keys where aiohttp has them (3.12+); plain strings before.
if hasattr(web, "RequestKey"):
    GRANT_KEY: web.RequestKey[Grant] = web.RequestKey("pyreg_auth_grant")
    REQUIREMENT_KEY: web.RequestKey[Requirement] = web.RequestKey("pyreg_auth_requirement")
else:  # pragma: no cover
    GRANT_KEY, REQUIREMENT_KEY = "pyreg_auth_grant", "pyreg_auth_requirement"


def grant_of(request: web.Request) -> Grant | None:
    """The caller's grant, or None when the registry runs without auth."""
    return request.get(GRANT_KEY)


def requirement_of(request: web.Request) -> Requirement | None:
    return request.get(REQUIREMENT_KEY)


def may_pull(request: web.Request, name: str) -> bool:
    """Whether the caller may read repository `name` (always, without auth)."""
    grant = grant_of(request)
    return grant is None or grant.may_pull(name)


def subject_of(request: web.Request) -> str | None:
    """The signed-in caller's name (a user, or `robot:<name>`); None when
    anonymous or without auth."""
    grant = grant_of(request)
    return grant.subject if grant is not None else None
