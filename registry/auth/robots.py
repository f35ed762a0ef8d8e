"""Robot credentials for CI: a name, scope patterns and an expiry, with a
secret shown once at creation.

Records live in the registry's storage, beside the `registry:2` tree
(`paths.robot(name)`: JSON of scopes, created, expires and the secret's
hash), so every worker and replica sharing the storage sees the same set.

A secret is 32 random bytes, so a SHA-256 of it cannot be searched back
(bcrypt is for passwords people choose); checking one costs a hash, not
milliseconds. Every secret starts with `pyreg-robot-`, which tells a robot's
password from a user's and lets secret scanners recognise a leaked one.
Reads are cached for `refresh` seconds: a revocation on one replica is
honoured everywhere within that time.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass

from storage_backends.base import PathNotFound, StorageDriver

from .. import paths
from .errors import AuthError
from .grants import Grant, pattern_grant
from .scopes import ALL, DELETE, PULL, PUSH, REGISTRY, REPOSITORY, Scope, ScopeError, parse_scope

log = logging.getLogger("pyreg.auth")

SECRET_PREFIX = "pyreg-robot-"
SUBJECT_PREFIX = "robot:"  # ':' never appears in an htpasswd user name
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_PATTERN_RE = re.compile(r"[a-z0-9._/*-]+")
_ACTIONS = {PULL, PUSH, DELETE, ALL}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_LIFETIME_RE = re.compile(r"(\d{1,6})([smhdw])")


class RobotError(AuthError, ValueError):
    """A robot name, scope or lifetime that cannot be used, or an unknown robot."""


def parse_lifetime(text: str) -> float:
    """Seconds in `30d`, `12h`, `2w`, `90m`, `45s`."""
    match = _LIFETIME_RE.fullmatch(text.strip())
    if not match:
        raise RobotError(f"invalid lifetime {text!r}: want a number and s, m, h, d or w (30d)")
    return int(match.group(1)) * _UNITS[match.group(2)]


def check_robot_scope(text: str) -> Scope:
    try:
        parsed = parse_scope(text)
    except ScopeError as err:
        raise RobotError(str(err)) from None
    if parsed.type == REGISTRY and parsed.name == "catalog":
        return parsed
    if parsed.type != REPOSITORY or not _PATTERN_RE.fullmatch(parsed.name):
        raise RobotError(f"scope {text!r}: want repository:PATTERN:ACTIONS or registry:catalog:*")
    if not parsed.actions or not set(parsed.actions) <= _ACTIONS:
        raise RobotError(f"scope {text!r}: actions are pull, push, delete or *")
    return parsed


@dataclass(frozen=True)
class Robot:
    name: str
    scopes: tuple[Scope, ...]
    created: float
    expires: float | None
    secret_sha256: str

    @property
    def subject(self) -> str:
        return SUBJECT_PREFIX + self.name

    def expired(self, now: float | None = None) -> bool:
        return self.expires is not None and (now or time.time()) >= self.expires

    def matches(self, secret: str) -> bool:
        digest = hashlib.sha256(secret.encode()).hexdigest()
        return hmac.compare_digest(digest, self.secret_sha256)

    def grant(self) -> Grant:
        return pattern_grant(self.subject, self.scopes)

    def to_json(self) -> bytes:
        return json.dumps({"name": self.name, "scopes": [str(s) for s in self.scopes],
                           "created": self.created, "expires": self.expires,
                           "secret_sha256": self.secret_sha256}, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Robot:
        record = json.loads(data)
        return cls(str(record["name"]), tuple(check_robot_scope(s) for s in record["scopes"]),
                   float(record["created"]),
                   None if record.get("expires") is None else float(record["expires"]),
                   str(record["secret_sha256"]))


def check_robot_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise RobotError(f"invalid robot name {name[:80]!r}: lower-case letters, digits, '.', '_' "
                         "and '-', at most 63")
    return name


class RobotStore:
    def __init__(self, driver: StorageDriver, refresh: float = 2.0):
        self.driver = driver
        self.refresh = refresh
        self._cache: dict[str, tuple[float, Robot | None]] = {}

    async def create(self, name: str, scopes: list[str],
                     lifetime: float | None = None) -> tuple[Robot, str]:
        """A new robot and its secret (returned once, never stored)."""
        check_robot_name(name)
        parsed = tuple(check_robot_scope(s) for s in scopes)
        if not parsed:
            raise RobotError("a robot needs at least one scope")
        if await self.driver.exists(paths.robot(name)):
            raise RobotError(f"robot {name} exists; revoke it first")
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        now = time.time()
        robot = Robot(name, parsed, now, None if lifetime is None else now + lifetime,
                      hashlib.sha256(secret.encode()).hexdigest())
        await self.driver.put_content(paths.robot(name), robot.to_json())
        self._cache[name] = (time.monotonic(), robot)
        return robot, secret

    async def list(self) -> list[Robot]:
        try:
            keys = await self.driver.list(paths.ROBOTS)
        except PathNotFound:
            return []
        robots = [await self._read(key.rsplit("/", 1)[1]) for key in keys]
        return [robot for robot in robots if robot is not None]

    async def revoke(self, name: str) -> None:
        check_robot_name(name)
        try:
            await self.driver.delete(paths.robot(name))
        except PathNotFound:
            raise RobotError(f"no robot named {name}") from None
        self._cache[name] = (time.monotonic(), None)

    async def get(self, name: str) -> Robot | None:
        """The robot, read at most every `refresh` seconds."""
        cached = self._cache.get(name)
        if cached is not None and time.monotonic() - cached[0] < self.refresh:
            return cached[1]
        robot = await self._read(name)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[name] = (time.monotonic(), robot)
        return robot

    async def verify(self, name: str, secret: str) -> Robot | None:
        """The live robot this secret belongs to, or None."""
        if not NAME_RE.fullmatch(name) or not secret.startswith(SECRET_PREFIX):
            return None
        robot = await self.get(name)
        if robot is None or robot.expired() or not robot.matches(secret):
            return None
        return robot

    async def _read(self, name: str) -> Robot | None:
        try:
            data = await self.driver.get_content(paths.robot(name))
        except PathNotFound:
            return None
        try:
            return Robot.from_json(data)
        except (ValueError, KeyError, TypeError, RobotError) as err:
            log.warning("robot record %s is unreadable (%s); it grants nothing", paths.robot(name), err)
            return None
