"""Checking a user name and password: the one place Basic auth and the
token endpoint both call.

A password that starts with `pyreg-robot-` is a robot's secret (robots.py);
any other is checked against the htpasswd file, with bcrypt in a worker
thread so the event loop keeps serving. A user's verified credentials are
remembered (under a keyed hash, never in clear) until the htpasswd file
changes or `cache_ttl` passes: docker sends Basic credentials with every
request, and bcrypt per request would cost milliseconds each time (what
Distribution pays). Robots are not remembered here: their check is one
SHA-256, and their record is re-read from storage so revocation shows.

Uncached checks go through the per-address throttle; every failure is
logged by audit.py, never with the password.
"""
from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Iterable

from . import audit
from .errors import AuthError
from .grants import Grant, full_grant
from .htpasswd import HtpasswdFile
from .robots import SECRET_PREFIX, SUBJECT_PREFIX, Robot, RobotStore
from .scopes import Scope
from .throttle import FailureThrottle


class AuthenticationFailed(AuthError):
    """Wrong or unknown credentials."""


class Throttled(AuthError):
    def __init__(self, retry_after: float):
        super().__init__("too many failed attempts from this address")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Account:
    subject: str  # a user name, or `robot:<name>`
    fingerprint: str  # changes when the credential does (refresh tokens carry it)
    robot: Robot | None = None

    def basic_grant(self) -> Grant:
        """What Basic auth allows: a robot its patterns; a user, like
        Distribution's htpasswd, everything."""
        return self.robot.grant() if self.robot else full_grant(self.subject)


def _fingerprint(secret_hash: str) -> str:
    return hashlib.sha256(secret_hash.encode()).hexdigest()[:16]


class Accounts:
    def __init__(self, htpasswd: HtpasswdFile | None, robots: RobotStore | None,
                 throttle: FailureThrottle | None = None, cache_ttl: float = 300.0,
                 cache_size: int = 1000):
        self.htpasswd, self.robots = htpasswd, robots
        self.throttle = throttle if throttle is not None else FailureThrottle()
        self.cache_ttl, self.cache_size = cache_ttl, cache_size
        self._salt = secrets.token_bytes(32)
        self._verified: dict[bytes, tuple[float, tuple | None, Account]] = {}

    async def authenticate(self, user: str, password: str, address: str | None,
                           scopes: Iterable[Scope] = ()) -> Account:
        """The account these credentials open; raises AuthenticationFailed or Throttled."""
        key = hashlib.blake2b(f"{user}\0{password}".encode("utf-8", "surrogateescape"),
                              key=self._salt).digest()
        cached = self._cached(key)
        if cached is not None:
            return cached
        wait = self.throttle.reserve(address)
        if wait is None:
            audit.refused(user, address, scopes, "throttled after repeated failures")
            raise Throttled(self.throttle.delay(address))
        if wait:
            await asyncio.sleep(wait)
        generation = self.htpasswd.generation if self.htpasswd else None  # before the check
        account = await self._check(user, password)
        if account is None:
            self.throttle.failed(address)
            audit.refused(user, address, scopes, "wrong user name, password or robot secret")
            raise AuthenticationFailed()
        if account.robot is None:
            self._remember(key, generation, account)
        return account

    async def _check(self, user: str, password: str) -> Account | None:
        if password.startswith(SECRET_PREFIX):
            robot = await self.robots.verify(user, password) if self.robots else None
            return robot and Account(robot.subject, _fingerprint(robot.secret_sha256), robot)
        if self.htpasswd is None or not await asyncio.to_thread(self.htpasswd.verify, user, password):
            return None
        hashed = self.htpasswd.hash_of(user)
        return Account(user, _fingerprint(hashed)) if hashed else None

    async def account_for(self, subject: str) -> Account | None:
        """The live account behind a subject (for refresh tokens): a user still
        in the htpasswd file, or a robot neither revoked nor expired."""
        if subject.startswith(SUBJECT_PREFIX):
            robot = await self.robots.get(subject[len(SUBJECT_PREFIX):]) if self.robots else None
            if robot is None or robot.expired():
                return None
            return Account(robot.subject, _fingerprint(robot.secret_sha256), robot)
        hashed = self.htpasswd.hash_of(subject) if self.htpasswd else None
        return Account(subject, _fingerprint(hashed)) if hashed else None

    def _cached(self, key: bytes) -> Account | None:
        entry = self._verified.get(key)
        if entry is None:
            return None
        deadline, generation, account = entry
        if time.monotonic() < deadline and self.htpasswd and generation == self.htpasswd.generation:
            return account
        del self._verified[key]
        return None

    def _remember(self, key: bytes, generation: tuple | None, account: Account) -> None:
        if len(self._verified) >= self.cache_size:
            self._verified.pop(next(iter(self._verified)))
        self._verified[key] = (time.monotonic() + self.cache_ttl, generation, account)
