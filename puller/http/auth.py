"""Answering registries' `WWW-Authenticate` challenges: Basic with stored
credentials, or Bearer tokens fetched from the challenge's realm (RFC 6750,
the distribution token protocol). The Authenticator is the one place that
holds credentials and tokens: per registry host, tokens per scope."""
from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable
from urllib.parse import urlencode

from ocispec.errors import ErrorCode

from ..credentials import Credentials, get_credentials
from ..errors import RegistryError
from .response import Response

_PARAM_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')
MAX_TOKEN_BODY = 64 * 1024


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "basic" or "bearer"
    params: dict[str, str]


def parse_challenge(header: str | None) -> Challenge | None:
    """The first challenge of a WWW-Authenticate header, or None."""
    if not header or not header.strip():
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
              for m in _PARAM_RE.finditer(rest)}
    params = {k: v.replace('\\"', '"') for k, v in params.items()}
    return Challenge(scheme.lower(), params)


def basic_header(credentials: Credentials) -> str:
    token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
    return f"Basic {token}"


def repository_scope(repository: str, actions: str) -> str:
    """A token scope: actions "pull", "pull,push" or "delete" on one repository."""
    return f"repository:{repository}:{actions}"


def scope_key(scopes: tuple[str, ...]) -> str:
    return " ".join(sorted(scopes))


@dataclass
class CachedToken:
    value: str
    expires_at: float

    def fresh(self) -> bool:
        return time.monotonic() < self.expires_at - 10


@dataclass
class HostAuth:
    """What one registry host asked for, and the tokens it gave us."""
    credentials: Credentials | None
    challenge: Challenge | None = None
    tokens: dict[str, CachedToken] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def header_for(self, key: str) -> str | None:
        if self.challenge is None:
            return None
        if self.challenge.scheme == "basic" and self.credentials:
            return basic_header(self.credentials)
        token = self.tokens.get(key)
        if self.challenge.scheme == "bearer" and token is not None and token.fresh():
            return f"Bearer {token.value}"
        return None

    def remember_token(self, key: str, body: dict) -> None:
        value = body.get("token") or body.get("access_token")
        if not isinstance(value, str) or not value or not value.isprintable():
            raise ValueError("token response has no usable token")
        expires_in = body.get("expires_in")
        lifetime = expires_in if isinstance(expires_in, int) and expires_in > 0 else 60
        self.tokens[key] = CachedToken(value, time.monotonic() + lifetime)


# GET url with headers, no authentication of its own: the token request
TokenGet = Callable[[str, dict[str, str]], Awaitable[Response]]


class Authenticator:
    def __init__(self, get: TokenGet):
        self._get = get
        self._hosts: dict[str, HostAuth] = {}

    def host(self, host: str) -> HostAuth:
        if host not in self._hosts:
            self._hosts[host] = HostAuth(get_credentials(host))
        return self._hosts[host]

    def use_credentials(self, host: str, credentials: Credentials) -> None:
        self._hosts[host] = HostAuth(credentials)

    async def header(self, host: str, scopes: tuple[str, ...]) -> str | None:
        """The Authorization value for these scopes right now, fetching a
        bearer token once per scope even when many requests want it at once."""
        auth, key = self.host(host), scope_key(scopes)
        header = auth.header_for(key)
        if header is not None or auth.challenge is None or auth.challenge.scheme != "bearer":
            return header
        async with auth.locks.setdefault(key, asyncio.Lock()):
            if auth.header_for(key) is None:
                await self._fetch_token(host, auth, scopes)
        return auth.header_for(key)

    def challenged(self, host: str, header: str | None, scopes: tuple[str, ...],
                   sent: str | None) -> None:
        """Learn from a 401's WWW-Authenticate; a refused token is forgotten."""
        challenge = parse_challenge(header)
        if challenge is None:
            raise RegistryError(f"{host} requires authentication but sent no challenge", 401,
                                ErrorCode.UNAUTHORIZED)
        if challenge.scheme not in ("basic", "bearer"):
            raise RegistryError(f"{host} asks for unsupported auth scheme {challenge.scheme!r}", 401)
        auth = self.host(host)
        auth.challenge = challenge
        if challenge.scheme == "basic" and auth.credentials is None:
            raise _login_needed(host)
        key = scope_key(scopes)
        if sent is not None and auth.header_for(key) == sent:
            auth.tokens.pop(key, None)

    async def _fetch_token(self, host: str, auth: HostAuth, scopes: tuple[str, ...]) -> None:
        params = auth.challenge.params
        realm = params.get("realm")
        if not realm or not realm.startswith(("http://", "https://")):
            raise RegistryError(f"{host} sent a bearer challenge without a usable realm", 401)
        query = [("service", params["service"])] if params.get("service") else []
        query += [("scope", s) for s in (scopes or tuple(filter(None, [params.get("scope")])))]
        headers = {"Authorization": basic_header(auth.credentials)} if auth.credentials else {}
        url = realm + ("&" if "?" in realm else "?") + urlencode(query, safe=":/,")
        async with await self._get(url, headers) as response:
            text = await response.read(MAX_TOKEN_BODY)
        if response.status in (401, 403):
            if auth.credentials is None:
                raise _login_needed(host)
            raise RegistryError(f"wrong username or password for {host}", 401, ErrorCode.UNAUTHORIZED)
        if response.status != 200:
            raise RegistryError(f"token server for {host} answered {response.status}")
        try:
            auth.remember_token(scope_key(scopes), json.loads(text))
        except (ValueError, TypeError, AttributeError):
            raise RegistryError(f"token server for {host} sent a malformed token response") from None


def _login_needed(host: str) -> RegistryError:
    return RegistryError(f"authentication required for {host} (run: pyreg login {host})", 401,
                         ErrorCode.UNAUTHORIZED)
