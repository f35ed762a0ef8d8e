"""The answers to a request that lacks access: 401 with a challenge, or 403.

A 401 carries `WWW-Authenticate` (Basic realm, or Bearer realm, service and
exactly the scopes the request needs) and an UNAUTHORIZED body whose detail
lists the accesses, as Distribution writes it. A caller who proved who it
is but may not do this (a robot outside its patterns) gets 403 DENIED:
asking again with the same credentials cannot help. A token that lacked a
scope is a 401 with `error="insufficient_scope"`, as Distribution answers,
since a token client fetches a new token with the scopes named.

Values are validated names and the operator's realm; quotes and
backslashes are still escaped, and control characters never reach a header.
"""
from __future__ import annotations

from ocispec.errors import ErrorCode, OciError

from .scopes import Scope

INVALID_TOKEN = "invalid_token"
INSUFFICIENT_SCOPE = "insufficient_scope"


def _quoted(value: str) -> str:
    cleaned = "".join(ch for ch in value if ch >= " " and ch != "\x7f")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def basic_challenge(realm: str) -> str:
    return f"Basic realm={_quoted(realm)}"


def bearer_challenge(realm: str, service: str, scopes: tuple[Scope, ...],
                     error: str | None = None) -> str:
    parts = [f"Bearer realm={_quoted(realm)}", f"service={_quoted(service)}"]
    if scopes:
        parts.append(f"scope={_quoted(' '.join(str(s) for s in scopes))}")
    if error:
        parts.append(f"error={_quoted(error)}")
    return ",".join(parts)


def _detail(scopes: tuple[Scope, ...]) -> list[dict] | None:
    detail = [{"Type": s.type, "Class": "", "Name": s.name, "Action": action}
              for s in scopes for action in s.actions]
    return detail or None


def unauthorized(challenge: str, scopes: tuple[Scope, ...],
                 message: str = "authentication required") -> OciError:
    error = OciError(ErrorCode.UNAUTHORIZED, message, _detail(scopes))
    error.headers = {"WWW-Authenticate": challenge}
    return error


def denied(scopes: tuple[Scope, ...]) -> OciError:
    return OciError(ErrorCode.DENIED, "requested access to the resource is denied", _detail(scopes))


def too_many_attempts(retry_after: float) -> OciError:
    error = OciError(ErrorCode.TOOMANYREQUESTS, "too many failed authentication attempts")
    error.headers = {"Retry-After": str(max(1, round(retry_after)))}
    return error
