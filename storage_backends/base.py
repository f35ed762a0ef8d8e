"""The one small async interface every storage backend implements.

Keys are relative, '/'-separated, without empty, '.' or '..' segments
(`check_key` enforces it before a key reaches a path or a bucket). A "directory"
is any prefix that has keys below it. Optional capabilities (a local path to
sendfile from, a redirect URL) are plain methods that may answer None.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import AsyncIterator


class StorageError(Exception):
    pass


class PathNotFound(StorageError):
    def __init__(self, key: str):
        super().__init__(f"not found: {key}")
        self.key = key


class InvalidKey(StorageError):
    pass


class StorageFull(StorageError):
    """No space (or quota) left: the write was undone, nothing of it remains."""


@dataclass(frozen=True, slots=True)
class FileInfo:
    key: str
    size: int
    is_dir: bool
    modified: float  # seconds since the epoch; 0 when unknown


def check_key(key: str) -> str:
    if not key or key.startswith("/") or key.endswith("/") or "\x00" in key or "\\" in key:
        raise InvalidKey(f"invalid storage key {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidKey(f"invalid storage key {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """Like check_key, but '' (the root) is allowed."""
    return prefix if prefix == "" else check_key(prefix)


class BlobWriter(abc.ABC):
    """A stream of writes to one key that becomes visible only on commit().

    `size` counts every byte of the key's content so far, including what was
    there before when the writer appends."""

    size: int

    @abc.abstractmethod
    async def write(self, chunk: bytes) -> None: ...

    @abc.abstractmethod
    async def commit(self) -> None:
        """Make the content durable and visible at the key."""

    @abc.abstractmethod
    async def cancel(self) -> None:
        """Discard what this writer wrote; the key is as before."""


class StorageDriver(abc.ABC):
    name: str = "abstract"
    # True when an appending writer's bytes show in stat() before commit (a
    # file grown in place); False when commit swaps the whole key at once.
    appends_in_place: bool = False
    # True when listing a directory is a network round trip (S3): whole-tree
    # walks per request are then too slow, and listings keep an index.
    directory_walks_are_slow: bool = False

    @abc.abstractmethod
    async def get_content(self, key: str) -> bytes:
        """The whole (small) content of a key; raises PathNotFound."""

    @abc.abstractmethod
    async def put_content(self, key: str, data: bytes) -> None:
        """Replace a key's content atomically."""

    @abc.abstractmethod
    def read_stream(self, key: str, offset: int = 0, length: int | None = None,
                    chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """Yield the key's bytes from offset; raises PathNotFound on first use."""

    @abc.abstractmethod
    async def writer(self, key: str, append: bool = False) -> BlobWriter:
        """A writer; with append=True it continues the key's current content."""

    @abc.abstractmethod
    async def stat(self, key: str) -> FileInfo:
        """Size and kind of a key or directory; raises PathNotFound."""

    @abc.abstractmethod
    async def list(self, prefix: str) -> list[str]:
        """Full keys of the direct children of a directory, sorted; raises PathNotFound."""

    @abc.abstractmethod
    async def move(self, source: str, dest: str) -> None:
        """Atomically replace dest with source's content; raises PathNotFound."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove a key or a whole directory; raises PathNotFound."""

    async def create_exclusive(self, key: str, data: bytes) -> bool:
        """Create the key with `data` only if it does not exist yet: True for
        the one caller that created it, False for every other. This is what
        replicas on one store serialise on, so it must be atomic in the store
        itself (no host-local lock); a backend that cannot do it refuses."""
        raise StorageError(f"{self.name} storage offers no exclusive create")

    async def list_after(self, prefix: str, after: str = "", count: int = 1000) -> list[str]:
        """Up to `count` full keys of direct children of `prefix` whose base
        names sort after `after`, sorted; [] when the directory is absent.
        Backends that can start a listing mid-directory (S3's StartAfter)
        override this: a page then costs its size, not the directory's."""
        try:
            children = await self.list(prefix)
        except PathNotFound:
            return []
        start = len(prefix) + 1 if prefix else 0
        return [key for key in children if key[start:] > after][:count]

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except PathNotFound:
            return False
        return True

    def local_path(self, key: str) -> str | None:
        """A filesystem path for sendfile, where the backend has one."""
        return None

    async def redirect_url(self, key: str, method: str = "GET") -> str | None:
        """A URL the client may fetch the content from directly, if enabled."""
        return None

    async def remove_abandoned_writes(self, before: float, dry_run: bool = False) -> list[str]:
        """Delete what writers that never committed or cancelled (a process
        killed mid-write) left behind, untouched since `before` (seconds since
        the epoch); returns what was (or, with dry_run, would be) deleted.
        Backends that leave nothing behind keep this default."""
        return []

    async def close(self) -> None:
        return None
