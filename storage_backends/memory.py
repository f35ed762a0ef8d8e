"""An in-memory backend for fast tests. Not for production: it holds bytes."""
from __future__ import annotations

import time
from typing import AsyncIterator

from .base import BlobWriter, FileInfo, PathNotFound, StorageDriver, check_key, check_prefix


class _MemoryWriter(BlobWriter):
    def __init__(self, driver: "MemoryDriver", key: str, initial: bytes):
        self._driver, self._key = driver, key
        self._buffer = bytearray(initial)
        self.size = len(initial)
        self._done = False

    async def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        self.size += len(chunk)

    async def commit(self) -> None:
        if not self._done:
            self._done = True
            self._driver._files[self._key] = (bytes(self._buffer), time.time())

    async def cancel(self) -> None:
        self._done = True
        self._buffer = bytearray()


class MemoryDriver(StorageDriver):
    name = "memory"

    def __init__(self) -> None:
        self._files: dict[str, tuple[bytes, float]] = {}

    def _get(self, key: str) -> bytes:
        try:
            return self._files[check_key(key)][0]
        except KeyError:
            raise PathNotFound(key) from None

    def _children(self, prefix: str) -> list[str]:
        start = prefix + "/" if prefix else ""
        names = {key[len(start):].split("/", 1)[0] for key in self._files if key.startswith(start)}
        return sorted(start + name for name in names)

    async def get_content(self, key: str) -> bytes:
        return self._get(key)

    async def put_content(self, key: str, data: bytes) -> None:
        self._files[check_key(key)] = (bytes(data), time.time())

    async def create_exclusive(self, key: str, data: bytes) -> bool:
        if check_key(key) in self._files:
            return False
        self._files[key] = (bytes(data), time.time())  # no await since the check: atomic
        return True

    async def read_stream(self, key: str, offset: int = 0, length: int | None = None,
                          chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        data = self._get(key)
        end = len(data) if length is None else min(len(data), offset + length)
        for start in range(offset, end, chunk_size):
            yield data[start:min(end, start + chunk_size)]

    async def writer(self, key: str, append: bool = False) -> BlobWriter:
        check_key(key)  # validate before any write, not only when appending
        initial = self._files.get(key, (b"", 0))[0] if append else b""
        return _MemoryWriter(self, key, initial)

    async def stat(self, key: str) -> FileInfo:
        check_prefix(key)
        if key in self._files:
            data, modified = self._files[key]
            return FileInfo(key, len(data), False, modified)
        if self._children(key):
            return FileInfo(key, 0, True, 0)
        raise PathNotFound(key)

    async def list(self, prefix: str) -> list[str]:
        children = self._children(check_prefix(prefix))
        if not children and prefix:
            raise PathNotFound(prefix)
        return children

    async def move(self, source: str, dest: str) -> None:
        entry = self._files.get(check_key(source))
        if entry is None:
            raise PathNotFound(source)
        self._files[check_key(dest)] = entry
        del self._files[source]

    async def delete(self, key: str) -> None:
        check_key(key)
        doomed = [k for k in self._files if k == key or k.startswith(key + "/")]
        if not doomed:
            raise PathNotFound(key)
        for k in doomed:
            del self._files[k]
