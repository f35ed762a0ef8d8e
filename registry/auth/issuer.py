"""The built-in token issuer (Distribution needs a separate service for this).

It signs access tokens in the docker token specification's format with a
key it holds: made on first start in `key_dir` (ES256 by default, EdDSA on
request), with a self-signed certificate that goes into the validator's
root bundle, so `auth.token.rootcertbundle` can name that file for
Distribution too. Tokens carry the certificate in `x5c` and its libtrust
id in `kid`, which Distribution 2.8 and 3 both accept. Distribution 2.8
cannot load an Ed25519 certificate at all (it will not start with one in
its rootcertbundle), so keep ES256 when Distribution validates the tokens.

Granted scopes are the intersection of what was asked and what the caller
may do: the access rules for users and anonymous callers, the robot's own
scopes for a robot. A token granting the catalog also carries the name
patterns the caller may pull (`pyreg_catalog`), so the registry can list
just those repositories.

Refresh tokens are signed too, for another audience (`pyreg-refresh:` and
the service), so no registry takes one for an access token. Each carries a
fingerprint of the credential: a changed password, a removed user or a
revoked robot ends every refresh token issued before.
"""
from __future__ import annotations

import base64
import datetime
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ..certificates import (certificate_pem, locked_directory, private_key_pem,
                            self_signed_certificate, write_file_atomically)
from .accounts import Account, Accounts
from .errors import AuthError
from .grants import Grant
from .jose import JoseError, algorithm_for, parse_compact, sign_compact, verify_signature
from .rules import NO_RULES, RulesFile
from .scopes import ALL, PULL, REGISTRY, REPOSITORY, Scope
from .trust import libtrust_key_id

KEY_NAME, CERTIFICATE_NAME = "token-signing.key", "token-signing.crt"
REFRESH_AUDIENCE_PREFIX = "pyreg-refresh:"
ALGORITHMS = ("ES256", "EdDSA")


class RefreshRejected(AuthError):
    """A refresh token that no longer opens an account."""


@dataclass(frozen=True)
class IssuerSettings:
    service: str
    issuer: str
    key_dir: str
    token_ttl: float = 300.0
    refresh_ttl: float = 30 * 86400.0
    algorithm: str = "ES256"


@dataclass(frozen=True)
class SigningKey:
    private_key: object
    certificate: x509.Certificate
    certificate_path: Path

    @property
    def header(self) -> dict:
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {"typ": "JWT", "kid": libtrust_key_id(self.private_key.public_key()),
                "x5c": [base64.b64encode(der).decode("ascii")]}


def load_or_create_signing_key(key_dir: str, algorithm: str, name: str) -> SigningKey:
    """The issuer's key and certificate in `key_dir`, made on first start."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"token signing algorithm must be one of {', '.join(ALGORITHMS)}")
    directory = Path(key_dir)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with locked_directory(directory):
            return _signing_key_in(directory, algorithm, name)
    except OSError as err:
        raise ValueError(f"cannot use token signing key directory {key_dir}: {err.strerror}") from None


def _signing_key_in(directory: Path, algorithm: str, name: str) -> SigningKey:
    key_path, cert_path = directory / KEY_NAME, directory / CERTIFICATE_NAME
    if key_path.exists() and cert_path.exists():
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except (ValueError, TypeError):
            raise ValueError(f"{key_path} or {cert_path} is not a readable key or certificate") from None
        if algorithm_for(key) == algorithm:
            return SigningKey(key, certificate, cert_path)
    key = ec.generate_private_key(ec.SECP256R1()) if algorithm == "ES256" \
        else ed25519.Ed25519PrivateKey.generate()
    certificate = self_signed_certificate(key, f"{name} token signer",
                                          validity=datetime.timedelta(days=10 * 365))
    write_file_atomically(key_path, private_key_pem(key), 0o600)
    write_file_atomically(cert_path, certificate_pem(certificate), 0o644)
    return SigningKey(key, certificate, cert_path)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    issued_at: str
    granted: list[Scope]


def _rfc3339(moment: float) -> str:
    return datetime.datetime.fromtimestamp(int(moment), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _pull_patterns(grant: Grant) -> list[str]:
    return [p.pattern.text for p in grant.patterns
            if p.type == REPOSITORY and (PULL in p.actions or ALL in p.actions)]


class TokenIssuer:
    def __init__(self, settings: IssuerSettings, signing: SigningKey, accounts: Accounts,
                 rules: RulesFile | None = None, clock: Callable[[], float] = time.time):
        self.settings, self.signing, self.accounts = settings, signing, accounts
        self.rules, self.clock = rules, clock

    def grant_for(self, account: Account | None) -> Grant:
        if account is not None and account.robot is not None:
            return account.robot.grant()
        rules = self.rules.current() if self.rules else NO_RULES
        return rules.grant_for(account.subject if account else None)

    def access_token(self, account: Account | None, asked: list[Scope]) -> IssuedToken:
        grant = self.grant_for(account)
        granted = grant.granted(asked)
        now = self.clock()
        claims = {"iss": self.settings.issuer, "aud": self.settings.service,
                  "exp": int(now + self.settings.token_ttl), "nbf": int(now) - 1, "iat": int(now),
                  "jti": secrets.token_urlsafe(16),
                  "access": [{"type": s.type, "name": s.name, "actions": list(s.actions)}
                             for s in granted]}
        if account is not None:
            claims["sub"] = account.subject
        if any(s.type == REGISTRY and s.name == "catalog" for s in granted):
            claims["pyreg_catalog"] = _pull_patterns(grant)
        token = sign_compact(self.signing.private_key, self.signing.header, claims)
        return IssuedToken(token, int(self.settings.token_ttl), _rfc3339(now), granted)

    def refresh_token(self, account: Account) -> str:
        now = self.clock()
        claims = {"iss": self.settings.issuer, "aud": REFRESH_AUDIENCE_PREFIX + self.settings.service,
                  "sub": account.subject, "exp": int(now + self.settings.refresh_ttl),
                  "iat": int(now), "jti": secrets.token_urlsafe(16),
                  "pyreg_fingerprint": account.fingerprint}
        return sign_compact(self.signing.private_key, self.signing.header, claims)

    async def account_from_refresh(self, token: str) -> Account:
        """The account a refresh token still opens; raises RefreshRejected."""
        try:
            jws = parse_compact(token)
            verify_signature(jws.header.get("alg"), self.signing.private_key.public_key(), jws)
        except JoseError as err:
            raise RefreshRejected(str(err)) from None
        claims = jws.claims
        if claims.get("iss") != self.settings.issuer or \
                claims.get("aud") != REFRESH_AUDIENCE_PREFIX + self.settings.service:
            raise RefreshRejected("not a refresh token of this issuer")
        expires = claims.get("exp")
        if not isinstance(expires, int) or isinstance(expires, bool) or self.clock() > expires:
            raise RefreshRejected("refresh token expired")
        subject = claims.get("sub")
        account = await self.accounts.account_for(subject) if isinstance(subject, str) else None
        if account is None or account.fingerprint != claims.get("pyreg_fingerprint"):
            raise RefreshRejected("the account changed or is gone")
        return account
