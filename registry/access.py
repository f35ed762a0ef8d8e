"""Access control from the configuration: the controller that `auth`
describes, the built-in token issuer of `pyreg.tokenserver`, and where
they go in the app.

    access = build_access(config, driver)   # None: anonymous; AccessError: one line
    mount_access(app, access)               # the auth middleware, and /token

`pyreg serve` builds it once before it listens, so a missing htpasswd file
or an unusable key stops start-up with one line; each worker then builds
its own over its own storage driver (robots are read from the storage).
The issuer and the controller share one failure throttle: a caller guessing
passwords at `/token` is slowed at `/v2` too.
"""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from storage_backends.base import StorageDriver

from .auth import token_server
from .auth.controllers import AccessController
from .auth.errors import AuthError
from .auth.issuer import IssuerSettings, TokenIssuer
from .auth.middleware import auth_middleware
from .auth.setup import access_controller, built_in_issuer
from .auth.throttle import FailureThrottle
from .config import RegistryConfig, TokenServerSettings


class AccessError(AuthError, ValueError):
    """A configuration whose access control cannot be built; one line."""


@dataclass(frozen=True)
class Access:
    controller: AccessController | None  # None: `pyreg token-server` alone
    issuer: TokenIssuer | None
    token_path: str = "/token"


def issuer_for(settings: TokenServerSettings, driver: StorageDriver,
               throttle: FailureThrottle | None = None) -> TokenIssuer:
    """The built-in issuer `pyreg.tokenserver` describes."""
    return built_in_issuer(
        IssuerSettings(settings.service, settings.issuer, settings.key_dir, settings.lifetime,
                       settings.refresh_lifetime, settings.algorithm),
        settings.htpasswd, settings.rules, driver, throttle)


def build_access(config: RegistryConfig, driver: StorageDriver) -> Access | None:
    """What `pyreg serve` enforces; raises AccessError (or an AuthError
    subclass that is also a ValueError) with one line."""
    if config.auth is None:
        if config.token_server is not None:
            raise AccessError("pyreg.tokenserver without auth.token would serve the registry "
                              "anonymously: add auth.token, or run pyreg token-server")
        return None
    throttle = FailureThrottle()
    issuer = issuer_for(config.token_server, driver, throttle) if config.token_server else None
    controller = access_controller({config.auth.scheme: config.auth.options}, driver, issuer,
                                   throttle)
    return Access(controller, issuer, config.token_server.path if issuer else "/token")


def mount_access(app: web.Application, access: Access) -> None:
    """The auth middleware on every request (inside the errors middleware,
    before read-only mode, so a stranger learns nothing, not even that);
    `/token` beside `/v2` when the issuer is built in."""
    if access.controller is not None:
        app.middlewares.append(auth_middleware(access.controller))
    if access.issuer is not None:
        app[token_server.TOKEN_ISSUER] = access.issuer
        token_server.add_routes(app.router, access.token_path)
