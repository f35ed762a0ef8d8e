"""Blobs: the global content-addressed store plus per-repository links.

A blob's bytes live once under `blobs/`; a repository sees it only through
its `_layers` link. Sizes, and the content of small blobs (configs and the
like, bounded in total), are cached by digest because content addressed by
digest never changes; the link is still read on every request.
"""
from __future__ import annotations

from typing import AsyncIterator

from ocispec.digest import Digest
from ocispec.errors import ErrorCode, OciError
from storage_backends.base import PathNotFound, StorageDriver

from .. import paths
from ..gc.guard import SweepGuard
from .links import Links
from .lru import ByteLRU

_SIZE_CACHE_LIMIT = 200_000
SMALL_BLOB_LIMIT = 64 * 1024
_SMALL_CACHE_BYTES = 32 * 1024 * 1024


class BlobStore:
    def __init__(self, driver: StorageDriver, links: Links, guard: SweepGuard):
        self.driver = driver
        self.links = links
        self.guard = guard
        self._sizes: dict[Digest, int] = {}
        self.small: ByteLRU[Digest, bytes] = ByteLRU(_SMALL_CACHE_BYTES, SMALL_BLOB_LIMIT, len)

    async def global_size(self, digest: Digest, fresh: bool = False) -> int | None:
        """Size of the stored bytes, or None when no repository could have them.
        `fresh` asks storage rather than the cache (before relying on the
        bytes being there, e.g. to skip writing them again)."""
        size = None if fresh else self._sizes.get(digest)
        if size is not None:
            return size
        try:
            info = await self.driver.stat(paths.blob_data(digest))
        except PathNotFound:
            return None
        if info.is_dir:
            return None
        if len(self._sizes) >= _SIZE_CACHE_LIMIT:
            self._sizes.clear()
        self._sizes[digest] = info.size
        return info.size

    async def read_cached(self, digest: Digest, size: int) -> bytes | None:
        """A small blob's bytes (checked against its known size), from memory when seen before."""
        data = self.small.get(digest)
        if data is None:
            data = await self.read_small(digest)
            if data is None or len(data) != size:
                return None
            self.small.put(digest, data)
        return data

    async def is_linked(self, name: str, digest: Digest) -> bool:
        return await self.links.exists(paths.layer_link(name, digest))

    async def size_in(self, name: str, digest: Digest) -> int:
        """Size of a blob visible in `name`; raises BLOB_UNKNOWN."""
        if await self.is_linked(name, digest):
            size = await self.global_size(digest)
            if size is not None:
                return size
        raise OciError(ErrorCode.BLOB_UNKNOWN, detail={"digest": str(digest)})

    async def link(self, name: str, digest: Digest) -> None:
        await self.links.write(paths.layer_link(name, digest), digest)

    async def unlink(self, name: str, digest: Digest) -> bool:
        return await self.links.remove(paths.layer_link(name, digest).rsplit("/", 1)[0])

    def local_path(self, digest: Digest) -> str | None:
        return self.driver.local_path(paths.blob_data(digest))

    async def redirect_url(self, digest: Digest, method: str) -> str | None:
        return await self.driver.redirect_url(paths.blob_data(digest), method)

    def read_stream(self, digest: Digest, offset: int = 0,
                    length: int | None = None) -> AsyncIterator[bytes]:
        return self.driver.read_stream(paths.blob_data(digest), offset, length)

    async def reusable(self, digest: Digest) -> bool:
        """Whether stored bytes may be linked instead of written again, safe
        from a garbage collection that may be removing them (see gc/guard.py)."""
        return await self.guard.stored_for_reuse(digest)

    async def adopt(self, source_key: str, digest: Digest) -> None:
        """Make verified bytes at `source_key` the blob `digest` (rename, no copy)."""
        if await self.reusable(digest):
            await self.driver.delete(source_key)  # already stored: dedupe
            return
        await self.driver.move(source_key, paths.blob_data(digest))

    async def put_small(self, digest: Digest, data: bytes) -> None:
        """Store already-verified small content (a manifest) unless present."""
        if await self.global_size(digest, fresh=True) is None:
            await self.driver.put_content(paths.blob_data(digest), data)

    async def read_small(self, digest: Digest) -> bytes | None:
        try:
            return await self.driver.get_content(paths.blob_data(digest))
        except PathNotFound:
            return None
