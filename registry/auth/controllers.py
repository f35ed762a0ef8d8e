"""Access controllers: the one call an auth middleware makes per request.

    grant = await controller.authorize(attempt_of(request), requirement)

returns the caller's `Grant` or raises an `OciError` the errors middleware
already renders (401 with its challenge, 403 DENIED, 429). The handler that
serves a mount asks `grant.allows(requirement.mount_source)`; the catalog
asks `grant.may_list(name)`; upload sessions can be tied to
`grant.subject`.

`BasicController` is Distribution's `auth.htpasswd` (plus robot secrets);
`TokenController` is its `auth.token`.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from dataclasses import dataclass
from typing import Protocol

from . import audit
from .accounts import Accounts, AuthenticationFailed, Throttled
from .challenge import (INSUFFICIENT_SCOPE, INVALID_TOKEN, basic_challenge, bearer_challenge,
                        denied, too_many_attempts, unauthorized)
from .grants import Grant
from .robots import SUBJECT_PREFIX, RobotStore
from .scopes import Requirement, Scope
from .throttle import FailureThrottle
from .tokens import TokenRejected, TokenSettings, TokenValidator

# Past this an Authorization header is not read at all (aiohttp already
# refuses header lines over 8 KiB); a token's own cap is jose's and is
# refused with a reason, so an over-long forgery is logged like any other.
MAX_CREDENTIALS = 16 * 1024


@dataclass(frozen=True, slots=True)
class Attempt:
    """What a request offers to prove who sent it."""
    authorization: str | None
    address: str | None
    host: str | None = None  # the Host header, for `autoredirect` realms
    scheme: str = "https"


def attempt_of(request) -> Attempt:
    """From an aiohttp request. The address is the socket's peer, never an
    X-Forwarded-For a client could write to dodge the throttle; the scheme
    honours X-Forwarded-Proto, as Distribution's autoredirect does."""
    scheme = request.headers.get("X-Forwarded-Proto") or request.scheme
    return Attempt(request.headers.get("Authorization"), request.remote, request.host, scheme)


class AccessController(Protocol):
    async def authorize(self, attempt: Attempt, requirement: Requirement) -> Grant: ...


def _credentials(header: str | None, scheme: str) -> str | None:
    if not header or len(header) > MAX_CREDENTIALS:
        return None
    given, _, value = header.strip().partition(" ")
    return value.strip() or None if given.lower() == scheme else None


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    value = _credentials(header, "basic")
    try:
        decoded = base64.b64decode(value or "", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep and user else None


def bearer_token(header: str | None) -> str | None:
    return _credentials(header, "bearer")


class BasicController:
    def __init__(self, realm: str, accounts: Accounts):
        self.realm, self.accounts = realm, accounts

    async def authorize(self, attempt: Attempt, requirement: Requirement) -> Grant:
        wanted = requirement.wanted()
        credentials = basic_credentials(attempt.authorization)
        if credentials is None:
            raise unauthorized(basic_challenge(self.realm), wanted)
        user, password = credentials
        try:
            account = await self.accounts.authenticate(user, password, attempt.address, wanted)
        except AuthenticationFailed:
            raise unauthorized(basic_challenge(self.realm), wanted,
                               "invalid user name or password") from None
        except Throttled as err:
            raise too_many_attempts(err.retry_after) from None
        grant = account.basic_grant()
        missing = grant.missing(requirement)
        if missing:
            audit.refused(account.subject, attempt.address, missing, "not granted to this account")
            raise denied(missing)
        return grant


class TokenController:
    """With `robots` (the built-in issuer's), a token issued to a robot stops
    working when the robot is revoked or expires, not only when the token
    does: its record is looked up (cached for a second or two) per request."""

    def __init__(self, validator: TokenValidator, throttle: FailureThrottle | None = None,
                 robots: RobotStore | None = None):
        self.settings: TokenSettings = validator.settings
        self.validator = validator
        self.throttle = throttle if throttle is not None else FailureThrottle()
        self.robots = robots

    def _challenge(self, attempt: Attempt, scopes: tuple[Scope, ...], error: str | None = None):
        realm = self.settings.realm
        if self.settings.autoredirect and attempt.host:
            realm = f"{attempt.scheme}://{attempt.host}{self.settings.autoredirectpath}"
        challenge = bearer_challenge(realm, self.settings.service, scopes, error)
        return unauthorized(challenge, scopes)

    async def authorize(self, attempt: Attempt, requirement: Requirement) -> Grant:
        wanted = requirement.wanted()
        token = bearer_token(attempt.authorization)
        if token is None:
            raise self._challenge(attempt, wanted)
        try:
            grant = self.validator.cached(token) or await self._verify(attempt, token, wanted)
        except TokenRejected as err:
            if err.forged:
                self.throttle.failed(attempt.address)
            audit.refused(None, attempt.address, wanted, err.reason,
                          logging.WARNING if err.forged else logging.INFO)
            raise self._challenge(attempt, wanted, INVALID_TOKEN) from None
        if not await self._robot_alive(grant.subject):
            audit.refused(grant.subject, attempt.address, wanted, "robot revoked or expired",
                          logging.INFO)
            raise self._challenge(attempt, wanted, INVALID_TOKEN)
        missing = grant.missing(requirement)
        if missing:
            audit.refused(grant.subject, attempt.address, missing, "insufficient scope", logging.INFO)
            raise self._challenge(attempt, wanted, INSUFFICIENT_SCOPE)
        return grant

    async def _robot_alive(self, subject: str | None) -> bool:
        if self.robots is None or not subject or not subject.startswith(SUBJECT_PREFIX):
            return True
        robot = await self.robots.get(subject[len(SUBJECT_PREFIX):])
        return robot is not None and not robot.expired()

    async def _verify(self, attempt: Attempt, token: str, wanted) -> Grant:
        wait = self.throttle.reserve(attempt.address)
        if wait is None:
            audit.refused(None, attempt.address, wanted, "throttled after repeated failures")
            raise too_many_attempts(self.throttle.delay(attempt.address))
        if wait:
            await asyncio.sleep(wait)
        return self.validator.verify(token)
