"""A small configuration file re-read when it changes, without a restart.

One `stat` per look (about a microsecond) compares the inode, size and
modification time with what was read; an editor's rename, an in-place
write and a `touch` all show. A file that becomes unreadable or malformed
leaves the empty value, logged once: access files fail closed. At start-up
(`strict`) the same problems are errors, so an operator learns them before
anything is served.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

from .errors import AuthError

log = logging.getLogger("pyreg.auth")
T = TypeVar("T")
MAX_FILE_SIZE = 16 * 1024 * 1024


class WatchedFileError(AuthError, ValueError):
    """The file cannot be used: missing, unreadable, too large or malformed."""


@dataclass(frozen=True)
class Snapshot(Generic[T]):
    identity: tuple | None  # (inode, size, mtime_ns) of what was read; None: nothing usable
    value: T


class WatchedFile(Generic[T]):
    def __init__(self, path: str, what: str, parse: Callable[[str], T], empty: T):
        """`parse(text)` builds the value, raising ValueError for a bad file."""
        self.path, self.what, self.parse, self.empty = path, what, parse, empty
        self._lock = threading.Lock()
        self._snapshot: Snapshot[T] = Snapshot(None, empty)
        self._failed: tuple | None = None  # the identity that could not be used
        self._problem: str | None = None  # what was last logged
        self.current(strict=True)

    def current(self, strict: bool = False) -> Snapshot[T]:
        try:
            info = os.stat(self.path)
        except OSError as err:
            with self._lock:
                return self._unusable(None, f"cannot read {self.what} {self.path}: {err.strerror}",
                                      strict)
        identity = (info.st_ino, info.st_size, info.st_mtime_ns)
        if identity in (self._snapshot.identity, self._failed):
            return self._snapshot
        with self._lock:
            if identity not in (self._snapshot.identity, self._failed):
                try:
                    value = self._read(info.st_size)
                except WatchedFileError as err:
                    return self._unusable(identity, str(err), strict)
                if self._snapshot.identity is not None or self._problem:
                    log.info("%s %s changed: re-read", self.what, self.path)
                self._snapshot, self._failed, self._problem = Snapshot(identity, value), None, None
        return self._snapshot

    def _read(self, size: int) -> T:
        if size > MAX_FILE_SIZE:
            raise WatchedFileError(f"{self.what} {self.path} is larger than {MAX_FILE_SIZE} bytes")
        try:
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                text = handle.read(MAX_FILE_SIZE)
        except OSError as err:
            raise WatchedFileError(f"cannot read {self.what} {self.path}: {err.strerror}") from None
        try:
            return self.parse(text)
        except ValueError as err:
            raise WatchedFileError(f"{self.what} {self.path}: {err}") from None

    def _unusable(self, identity: tuple | None, reason: str, strict: bool) -> Snapshot[T]:
        """Fail closed until the file is fixed (called with the lock held);
        each new problem is logged once."""
        if strict:
            raise WatchedFileError(reason)
        if reason != self._problem:
            log.warning("%s: nothing is granted from it until it is fixed", reason)
        self._snapshot, self._failed, self._problem = Snapshot(None, self.empty), identity, reason
        return self._snapshot
