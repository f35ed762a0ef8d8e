"""Reading the references of stored manifests, each digest once, many at a
time (`read_many`: on S3 a GET costs milliseconds, so they overlap; on disk
they are read in one thread).
"""
from __future__ import annotations

from typing import Iterable

from ocispec.digest import Digest
from storage_backends.base import PathNotFound, StorageDriver
from storage_backends.bulk import read_many

from .. import paths
from .references import References, references_of


class ManifestReader:
    def __init__(self, driver: StorageDriver):
        self.driver = driver
        self._known: dict[Digest, References | None] = {}

    async def prefetch(self, digests: Iterable[Digest]) -> None:
        wanted = {paths.blob_data(digest): digest for digest in set(digests) if digest not in self._known}
        for key, raw in (await read_many(self.driver, wanted)).items():
            self._known[wanted[key]] = None if raw is None else references_of(raw)

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
