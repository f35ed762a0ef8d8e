"""The real registry app with the auth middleware mounted (as the wiring
will do), and the built-in token issuer's routes beside it."""
from __future__ import annotations

import base64
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from registry.app import make_app
from registry.auth import token_server
from registry.auth.controllers import TokenController
from registry.auth.issuer import IssuerSettings, TokenIssuer
from registry.auth.middleware import auth_middleware
from registry.auth.setup import access_controller, built_in_issuer
from registry.auth.throttle import FailureThrottle
from registry.config import RegistryConfig
from storage_backends.base import StorageDriver
from tests.support.processes import require_binary

SERVICE, ISSUER = "pyreg.test", "pyreg-issuer.test"
RULES = """
groups:
  team-a: [alice, bob]
rules:
  - repositories: ["team-a/*"]
    groups: [team-a]
    actions: [pull, push]
  - repositories: ["public/*"]
    anonymous: true
    actions: [pull]
  - repositories: ["*"]
    users: [admin]
    actions: ["*"]
  - catalog: true
    users: ["*"]
"""
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "admin": "admin-pw", "carol": "carol-pw"}


def write_htpasswd(path: Path, passwords: dict[str, str] = PASSWORDS) -> Path:
    binary = require_binary("htpasswd", "apache2-utils")
    for n, (user, password) in enumerate(passwords.items()):
        flags = "-cbB" if n == 0 else "-bB"
        subprocess.run([binary, flags, "-C", "5", str(path), user, password], check=True,
                       capture_output=True)
    return path


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def with_auth(driver: StorageDriver, controller, issuer: TokenIssuer | None = None) -> web.Application:
    app = make_app(RegistryConfig(), driver)
    app.middlewares.append(auth_middleware(controller))
    if issuer is not None:
        app[token_server.TOKEN_ISSUER] = issuer
        token_server.add_routes(app.router)
    return app


def basic_registry(driver: StorageDriver, htpasswd: Path, throttle=None) -> web.Application:
    auth = {"htpasswd": {"realm": "pyreg-test", "path": str(htpasswd)}}
    return with_auth(driver, access_controller(auth, driver, throttle=throttle, robot_refresh=0))


@dataclass
class TokenSetup:
    app: web.Application
    issuer: TokenIssuer
    controller: TokenController


def token_registry(driver: StorageDriver, directory: Path, throttle=None,
                   realm: str | None = None) -> TokenSetup:
    """Token auth whose realm is the app's own /token (autoredirect builds
    it from the Host header, so the port need not be known in advance)."""
    rules = directory / "rules.yml"
    rules.write_text(RULES)
    throttle = throttle if throttle is not None else FailureThrottle()
    issuer = built_in_issuer(IssuerSettings(SERVICE, ISSUER, str(directory / "keys")),
                             str(write_htpasswd(directory / "htpasswd")), str(rules), driver,
                             throttle, robot_refresh=0)
    options = {"realm": realm or "http://unused/token", "service": SERVICE, "issuer": ISSUER,
               "autoredirect": realm is None, "autoredirectpath": "/token"}
    controller = access_controller({"token": options}, driver, issuer, throttle)
    return TokenSetup(with_auth(driver, controller, issuer), issuer, controller)


def blob(data: bytes) -> tuple[bytes, str]:
    return data, "sha256:" + hashlib.sha256(data).hexdigest()
