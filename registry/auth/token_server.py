"""`/token` as aiohttp handlers: docker's `GET /token` and OAuth2's `POST /token`.

    GET  /token?service=S&scope=repository:a:pull,push&scope=...&offline_token=true
         Authorization: Basic ... (or none: anonymous)
    POST /token   grant_type=password&username=&password=&scope=a b&access_type=offline
                  grant_type=refresh_token&refresh_token=...&scope=...

Both answer `token`, `access_token`, `expires_in`, `issued_at`, and a
`refresh_token` when asked for one (`offline_token=true`, `access_type=offline`).
A failed GET is a 401 with a Basic challenge and an OCI error body; a failed
POST is an OAuth2 error (`invalid_grant`, `invalid_request`,
`unsupported_grant_type`). Asked scopes the caller may not have are left
out of the token (and logged), as the specification says: the registry then
answers `insufficient_scope`.

The registry app mounts these with `add_routes`, and `pyreg token-server`
can serve them alone.
"""
from __future__ import annotations

import logging
from urllib.parse import parse_qs

from aiohttp import web

from ocispec.errors import ErrorCode, OciError

from ..middlewares import errors_middleware
from . import audit
from .accounts import Account, AuthenticationFailed, Throttled
from .challenge import basic_challenge, too_many_attempts, unauthorized
from .controllers import MAX_CREDENTIALS, basic_credentials
from .issuer import RefreshRejected, TokenIssuer
from .scopes import Scope, ScopeError, parse_scopes

TOKEN_ISSUER = web.AppKey("token_issuer", TokenIssuer)
TOKEN_REALM = "pyreg token server"
MAX_FORM = 64 * 1024
_TRUE = ("true", "1", "yes")


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _scopes(values: list[str]) -> list[Scope]:
    try:
        return parse_scopes(values)
    except ScopeError as err:
        raise OciError(ErrorCode.UNSUPPORTED, f"invalid scope: {err}", status=400) from None


def _check_service(issuer: TokenIssuer, service: str | None) -> None:
    if service and service != issuer.settings.service:
        raise OciError(ErrorCode.UNSUPPORTED, f"unknown service {service[:100]!r}", status=400)


def _answer(issuer: TokenIssuer, account: Account | None, asked: list[Scope],
            address: str | None, offline: bool) -> web.Response:
    issued = issuer.access_token(account, asked)
    left_out = [s for s in asked if s not in issued.granted]
    if left_out:
        audit.refused(account.subject if account else None, address, left_out,
                      "not granted by the access rules", logging.INFO)
    body = {"token": issued.token, "access_token": issued.token,
            "expires_in": issued.expires_in, "issued_at": issued.issued_at}
    if offline and account is not None:
        body["refresh_token"] = issuer.refresh_token(account)
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def get_token(request: web.Request) -> web.Response:
    issuer = request.app[TOKEN_ISSUER]
    _check_service(issuer, request.query.get("service"))
    asked = _scopes(request.query.getall("scope", []))
    header = request.headers.get("Authorization")
    account = None
    if header:
        credentials = basic_credentials(header)
        given = request.query.get("account")
        if credentials is None or (given and given != credentials[0]):
            raise unauthorized(basic_challenge(TOKEN_REALM), tuple(asked), "invalid credentials")
        try:
            account = await issuer.accounts.authenticate(*credentials, request.remote, asked)
        except AuthenticationFailed:
            raise unauthorized(basic_challenge(TOKEN_REALM), tuple(asked),
                               "invalid user name or password") from None
        except Throttled as err:
            raise too_many_attempts(err.retry_after) from None
    offline = request.query.get("offline_token", "").lower() in _TRUE
    return _answer(issuer, account, asked, request.remote, offline)


async def _read_form(request: web.Request) -> dict[str, str]:
    """A small urlencoded form, read within MAX_FORM bytes."""
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > MAX_FORM:
            raise OciError(ErrorCode.SIZE_TOO_LARGE, "form too large")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100,
                          strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise OciError(ErrorCode.UNSUPPORTED, "malformed form", status=400) from None
    return {key: values[0] for key, values in fields.items()}


async def post_token(request: web.Request) -> web.Response:
    issuer = request.app[TOKEN_ISSUER]
    form = await _read_form(request)
    if form.get("service") and form["service"] != issuer.settings.service:
        return _oauth_error(400, "invalid_request", "unknown service")
    try:
        asked = parse_scopes([form.get("scope", "")])
    except ScopeError as err:
        return _oauth_error(400, "invalid_scope", str(err))
    grant_type = form.get("grant_type")
    try:
        if grant_type == "password":
            account = await _password_grant(issuer, form, request.remote, asked)
        elif grant_type == "refresh_token":
            account = await issuer.account_from_refresh(form.get("refresh_token", "")[:MAX_CREDENTIALS])
        else:
            return _oauth_error(400, "unsupported_grant_type", "want password or refresh_token")
    except (AuthenticationFailed, RefreshRejected) as err:
        if isinstance(err, RefreshRejected):
            audit.refused(None, request.remote, asked, f"refresh token refused: {err}")
        return _oauth_error(400, "invalid_grant", "invalid credentials or refresh token")
    except Throttled as err:
        raise too_many_attempts(err.retry_after) from None
    offline = form.get("access_type") == "offline"
    return _answer(issuer, account, asked, request.remote, offline)


async def _password_grant(issuer: TokenIssuer, form: dict, address, asked) -> Account:
    user, password = form.get("username", ""), form.get("password", "")
    if not user or len(user) + len(password) > MAX_CREDENTIALS:
        raise AuthenticationFailed()
    return await issuer.accounts.authenticate(user, password, address, asked)


def add_routes(router: web.UrlDispatcher, path: str = "/token") -> None:
    router.add_route("GET", path, get_token)
    router.add_route("POST", path, post_token)


def token_app(issuer: TokenIssuer, path: str = "/token") -> web.Application:
    """The issuer on its own (`pyreg token-server`), errors rendered as the registry's."""
    app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_FORM)
    app[TOKEN_ISSUER] = issuer
    add_routes(app.router, path)
    return app
