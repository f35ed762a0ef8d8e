"""`WWW-Authenticate` challenges and the per-registry state that answers them:
Basic with stored credentials, or Bearer tokens fetched from the challenge's
realm and cached per scope (RFC 6750, the distribution token protocol)."""
from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass, field

from .credentials import Credentials

_PARAM_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


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


@dataclass
class CachedToken:
    value: str
    expires_at: float

    def fresh(self) -> bool:
        return time.monotonic() < self.expires_at - 10


@dataclass
class HostAuth:
    """What one registry host asked for, and the tokens it gave us."""
    challenge: Challenge | None = None
    credentials: Credentials | None = None
    credentials_loaded: bool = False
    tokens: dict[str, CachedToken] = field(default_factory=dict)

    def header_for(self, scope_key: str) -> str | None:
        if self.challenge is None:
            return None
        if self.challenge.scheme == "basic" and self.credentials:
            return basic_header(self.credentials)
        token = self.tokens.get(scope_key)
        if self.challenge.scheme == "bearer" and token is not None and token.fresh():
            return f"Bearer {token.value}"
        return None

    def remember_token(self, scope_key: str, body: dict) -> str:
        value = body.get("token") or body.get("access_token")
        if not isinstance(value, str) or not value:
            raise ValueError("token response has no token")
        expires_in = body.get("expires_in")
        lifetime = expires_in if isinstance(expires_in, int) and expires_in > 0 else 60
        self.tokens[scope_key] = CachedToken(value, time.monotonic() + lifetime)
        return value


def scope_key(scopes: tuple[str, ...]) -> str:
    return " ".join(sorted(scopes))


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def delete_scope(repository: str) -> str:
    return f"repository:{repository}:delete"
