"""Bearer tokens as Distribution's `auth: token` accepts them.

`TokenSettings` holds the `auth.token` keys of Distribution's configuration
reference (`realm`, `service`, `issuer`, `rootcertbundle`, and from
Distribution 3 `jwks`, `autoredirect`, `autoredirectpath`,
`signingalgorithms`). `TokenValidator.validate` turns a token into a
`Grant` or raises `TokenRejected` with a reason for the audit log (which
becomes a 401 upstream, never a 5xx).

Checks, each a refusal: the JWS is well formed (jose.py), its algorithm is
accepted, a trusted key signed it (trust.py), `iss` is the issuer, `aud` is
(or lists) the service, `exp` is present and not past and `nbf` not ahead,
both with Distribution's 60 s of clock skew, and the `access` claim has the
token specification's shape.

A verified token is cached under its SHA-256 until it expires, so a hot
manifest GET pays one hash and one dict lookup instead of a signature check
(ES256 verification costs about 0.1 ms, an x5c chain more). The cache is
bounded; a full cache first drops what has expired, then the oldest entries.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .errors import AuthError
from .grants import Grant, exact_grant
from .jose import SUPPORTED_ALGORITHMS, JoseError, parse_compact, verify_signature
from .scopes import Scope, scope
from .trust import TrustStore

LEEWAY = 60.0  # seconds, as Distribution's token.Leeway
DEFAULT_AUTOREDIRECT_PATH = "/auth/token"


class TokenRejected(AuthError):
    """A bearer token that does not grant anything; `reason` is for the log.
    `forged` is False for what honest clients send too (a token past its
    expiry, or early through clock skew): those do not count as attacks."""

    def __init__(self, reason: str, forged: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.forged = forged


@dataclass(frozen=True)
class TokenSettings:
    realm: str
    service: str
    issuer: str
    rootcertbundle: str | None = None
    jwks: str | None = None
    autoredirect: bool = False
    autoredirectpath: str = DEFAULT_AUTOREDIRECT_PATH
    signingalgorithms: tuple[str, ...] = ()  # empty: every supported one

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], where: str = "auth.token",
                     keys_required: bool = True) -> TokenSettings:
        """From the `auth.token` section; raises ValueError naming the key.
        `keys_required=False` when the built-in issuer adds its own root."""
        def text(key: str, required: bool) -> str | None:
            value = options.get(key)
            if value is None and not required:
                return None
            if not isinstance(value, str) or not value:
                raise ValueError(f"{where}.{key} must be a non-empty string")
            return value
        algorithms = options.get("signingalgorithms") or ()
        if not isinstance(algorithms, (list, tuple)) or not set(algorithms) <= set(SUPPORTED_ALGORITHMS):
            raise ValueError(f"{where}.signingalgorithms must list some of {', '.join(SUPPORTED_ALGORITHMS)}")
        redirect = options.get("autoredirect", False)
        if not isinstance(redirect, bool):
            raise ValueError(f"{where}.autoredirect must be true or false")
        settings = cls(text("realm", True), text("service", True), text("issuer", True),
                       text("rootcertbundle", False), text("jwks", False), redirect,
                       text("autoredirectpath", False) or DEFAULT_AUTOREDIRECT_PATH,
                       tuple(algorithms))
        if keys_required and not settings.rootcertbundle and not settings.jwks:
            raise ValueError(f"{where}.rootcertbundle is required (or {where}.jwks)")
        return settings


def _cache_key(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def _number(claims: dict, name: str, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TokenRejected(f"token has no numeric {name} claim")
    return float(value)


def parse_access(claim) -> list[Scope]:
    """The token specification's `access` claim: [{type, name, actions}]."""
    if claim is None:
        return []
    if not isinstance(claim, list) or len(claim) > 1000:
        raise TokenRejected("access claim is not a list")
    scopes = []
    for entry in claim:
        if not isinstance(entry, dict):
            raise TokenRejected("access claim entry is not an object")
        type_, name, actions = entry.get("type"), entry.get("name"), entry.get("actions") or []
        if not (isinstance(type_, str) and isinstance(name, str) and isinstance(actions, list)
                and all(isinstance(a, str) for a in actions)):
            raise TokenRejected("access claim entry is malformed")
        scopes.append(scope(type_, name, *actions))
    return scopes


class TokenValidator:
    def __init__(self, settings: TokenSettings, trust: TrustStore, cache_size: int = 10_000,
                 clock: Callable[[], float] = time.time):
        self.settings = settings
        self.trust = trust
        self.algorithms = settings.signingalgorithms or SUPPORTED_ALGORITHMS
        self.cache_size = cache_size
        self.clock = clock
        self._cache: dict[bytes, tuple[float, Grant]] = {}

    @classmethod
    def from_settings(cls, settings: TokenSettings, extra_roots=()) -> TokenValidator:
        trust = TrustStore.from_files(settings.rootcertbundle, settings.jwks, list(extra_roots))
        return cls(settings, trust)

    def validate(self, token: str) -> Grant:
        """The token's grant; raises TokenRejected."""
        return self.cached(token) or self.verify(token)

    def cached(self, token: str) -> Grant | None:
        """The grant of a token verified before (one hash, one lookup), or None."""
        key = _cache_key(token)
        cached = self._cache.get(key)
        if cached is None:
            return None
        if self.clock() <= cached[0] + LEEWAY:
            return cached[1]
        del self._cache[key]
        raise TokenRejected("token expired", forged=False)

    def verify(self, token: str) -> Grant:
        """Check the token fully and remember its grant until it expires."""
        now = self.clock()
        expires, grant = self._verify(token, now)
        if len(self._cache) >= self.cache_size:
            self._evict(now)
        self._cache[_cache_key(token)] = (expires, grant)
        return grant

    def _verify(self, token: str, now: float) -> tuple[float, Grant]:
        try:
            jws = parse_compact(token)
            alg = jws.header.get("alg")
            if alg not in self.algorithms:
                raise JoseError(f"signing algorithm {str(alg)[:20]!r} is not accepted")
            verify_signature(alg, self.trust.signing_key(jws.header), jws)
        except JoseError as err:
            raise TokenRejected(str(err)) from None
        return self._check_claims(jws.claims, now)

    def _check_claims(self, claims: dict, now: float) -> tuple[float, Grant]:
        if claims.get("iss") != self.settings.issuer:
            raise TokenRejected(f"token from untrusted issuer {str(claims.get('iss'))[:80]!r}")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.settings.service not in audiences:
            raise TokenRejected(f"token intended for another audience {str(audience)[:80]!r}")
        expires = _number(claims, "exp", required=True)
        if now > expires + LEEWAY:
            raise TokenRejected("token expired", forged=False)
        not_before = _number(claims, "nbf", required=False)
        if not_before is not None and now < not_before - LEEWAY:
            raise TokenRejected("token not valid yet", forged=False)
        subject = claims.get("sub")
        listable = claims.get("pyreg_catalog") or []
        if not isinstance(listable, list) or not all(isinstance(p, str) for p in listable):
            raise TokenRejected("pyreg_catalog claim is malformed")
        grant = exact_grant(subject if isinstance(subject, str) and subject else None,
                            parse_access(claims.get("access")), listable)
        return expires, grant

    def _evict(self, now: float) -> None:
        expired = [key for key, (expires, _) in self._cache.items() if now > expires + LEEWAY]
        for key in expired:
            del self._cache[key]
        if len(self._cache) >= self.cache_size:
            for key in list(self._cache)[: max(1, self.cache_size // 4)]:
                del self._cache[key]
