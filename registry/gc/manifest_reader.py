"""Reading the references of stored manifests, each digest once, many at a time.

On S3 each manifest is a GET of some milliseconds; reading them one after
another would dominate a collection, so they are fetched with bounded
concurrency (the driver's threads do the waiting).
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Iterable

from ocispec.digest import Digest
from storage_backends.base import PathNotFound, StorageDriver

from .. import paths
from .references import References, references_of

CONCURRENCY = 16


async def gather_bounded(calls: Iterable[Awaitable], limit: int = CONCURRENCY) -> list:
    """Await every call, at most `limit` at a time; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable):
        async with gate:
            return await call
    return await asyncio.gather(*(one(call) for call in calls))


class ManifestReader:
    def __init__(self, driver: StorageDriver):
        self.driver = driver
        self._known: dict[Digest, References | None] = {}

    async def prefetch(self, digests: Iterable[Digest]) -> None:
        await gather_bounded(self.get(digest) for digest in set(digests) if digest not in self._known)

    async def get(self, digest: Digest) -> References | None:
        """The manifest's references; None when its bytes are not stored."""
        if digest not in self._known:
            try:
                raw = await self.driver.get_content(paths.blob_data(digest))
            except PathNotFound:
                self._known[digest] = None
            else:
                self._known[digest] = references_of(raw)
        return self._known[digest]

    def known(self, digest: Digest) -> References | None:
        """What get() found, without reading (None when not read or not stored)."""
        return self._known.get(digest)
