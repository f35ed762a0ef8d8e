"""Answering an upstream's `WWW-Authenticate` challenge: Basic with the
configured credentials, or a Bearer token from the challenge's realm
(docker's token protocol: GET realm?service=..&scope=.., with the
credentials as Basic when there are some, anonymous otherwise). Tokens are
kept per scope until shortly before they expire."""
from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from ..config.proxy import Upstream
from .errors import UpstreamError

# auth-param = token "=" ( token / quoted-string ), RFC 7235
_AUTH_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')
MAX_TOKEN_RESPONSE = 64 * 1024
DEFAULT_TOKEN_LIFETIME = 60  # seconds, when the token server does not say (docker's spec)


@dataclass(frozen=True)
class AuthChallenge:
    scheme: str                 # "basic" or "bearer"
    realm: str | None
    service: str | None


def read_challenge(header: str) -> AuthChallenge | None:
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for match in _AUTH_PARAM.finditer(rest):
        value = match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[match.group(1).lower()] = value
    if scheme.lower() not in ("basic", "bearer"):
        return None
    return AuthChallenge(scheme.lower(), params.get("realm"), params.get("service"))


class UpstreamAuth:
    def __init__(self, upstream: Upstream):
        self.upstream = upstream
        self.challenge: AuthChallenge | None = None
        self._tokens: dict[str, tuple[str, float]] = {}  # scope -> (token, expiry)

    def _basic(self) -> str | None:
        if self.upstream.username is None:
            return None
        pair = f"{self.upstream.username}:{self.upstream.password}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def header(self, scope: str) -> str | None:
        """The Authorization to send for `scope`, from what was learnt so far."""
        if self.challenge is None:
            return None
        if self.challenge.scheme == "basic":
            return self._basic()
        token, expiry = self._tokens.get(scope, (None, 0.0))
        return f"Bearer {token}" if token and time.monotonic() < expiry else None

    async def answer(self, session: aiohttp.ClientSession, header: str | None, scope: str) -> bool:
        """Learn from a 401; True when a retry has something new to send."""
        challenge = read_challenge(header or "")
        if challenge is None:
            return False
        stale = self.header(scope)
        self.challenge = challenge
        if challenge.scheme == "basic":
            return self._basic() is not None and self._basic() != stale
        self._tokens.pop(scope, None)
        await self._fetch_token(session, scope)
        return True

    async def _fetch_token(self, session: aiohttp.ClientSession, scope: str) -> None:
        if not self.challenge.realm or not self.challenge.realm.startswith(("http://", "https://")):
            raise UpstreamError("the upstream's token challenge names no usable realm")
        query = {"scope": scope, **({"service": self.challenge.service} if self.challenge.service else {})}
        headers = {"Authorization": self._basic()} if self._basic() else {}
        url = f"{self.challenge.realm}{'&' if '?' in self.challenge.realm else '?'}{urlencode(query)}"
        try:
            async with session.get(url, headers=headers) as response:
                if response.status != 200:
                    raise UpstreamError(f"the upstream's token server answered {response.status}")
                body = await response.content.read(MAX_TOKEN_RESPONSE + 1)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise UpstreamError(f"the upstream's token server is unreachable ({error.__class__.__name__})")
        self._tokens[scope] = _token_of(body)


def _token_of(body: bytes) -> tuple[str, float]:
    try:
        data = json.loads(body) if len(body) <= MAX_TOKEN_RESPONSE else None
        token = data.get("token") or data.get("access_token")
        lifetime = float(data.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
    except (ValueError, AttributeError, TypeError):
        token = None
    if not isinstance(token, str) or not token:
        raise UpstreamError("the upstream's token server sent no token")
    # Renewed a little before it runs out, so a request never carries a dying token.
    return token, time.monotonic() + max(lifetime - 10, lifetime / 2)
