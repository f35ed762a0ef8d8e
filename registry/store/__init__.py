"""Repository semantics between the HTTP handlers and a storage driver:
blob links, manifest revisions, tags, referrers and upload sessions.
Handlers call these; only `registry.paths` builds storage keys."""
from __future__ import annotations

import contextlib
from typing import Callable

from ocispec.digest import Digest
from storage_backends.base import StorageDriver

from ..gc.freshness import Timing
from ..gc.guard import SweepGuard
from .blobs import BlobStore
from .catalog import first_repositories, walk_repositories
from .links import Links
from .listing_index import ListingIndex
from .manifests import ManifestStore, StoredManifest
from .referrers import ReferrersIndex
from .repositories import DeletedRepository, delete_repository
from .tags import TagStore
from .upload_owners import UploadOwners
from .uploads import UploadStore, check_upload_id, chunk_out_of_range
from .usage_meter import UsageMeter


class RegistryStore:
    def __init__(self, driver: StorageDriver, writable: bool = True, gc_timing: Timing = Timing()):
        self.driver = driver
        self.writable = writable  # False in read-only mode: reads write nothing either
        self.links = Links(driver)
        self.guard = SweepGuard(driver, gc_timing)  # writers' side of online garbage collection
        self.blobs = BlobStore(driver, self.links, self.guard)
        self.index = ListingIndex(driver, self.links, writable) if driver.directory_walks_are_slow else None
        self.tags = TagStore(self.links, self.index)
        self.referrers = ReferrersIndex(driver, self.links)
        self.manifests = ManifestStore(self.links, self.blobs, self.tags, self.referrers, self.guard,
                                       self.index)
        self.uploads = UploadStore(driver, self.blobs)
        self.upload_owners = UploadOwners(driver)
        self.usage = UsageMeter(driver)

    async def repositories(self, count: int, after: str = "",
                           shown: Callable[[str], bool] | None = None) -> list[str]:
        """Up to `count` repository names after `after`, in catalog order;
        only those `shown` accepts, when given."""
        if self.index is not None:
            names = await self.index.repositories(count, after, shown)
            if names is not None:
                return names
        return await first_repositories(self.links, count, after, shown)

    async def repository_linking(self, digest: Digest,
                                 readable: Callable[[str], bool] | None = None) -> str | None:
        """A repository that links the blob, if any (among those `readable`
        accepts, when given); stops at the first. Its cost grows with the
        registry, so the global store is asked first."""
        if await self.blobs.global_size(digest, fresh=True) is None:
            return None
        async with contextlib.aclosing(walk_repositories(self.links, marker="_layers")) as walk:
            async for name in walk:
                if (readable is None or readable(name)) and await self.blobs.is_linked(name, digest):
                    return name
        return None

    async def delete_repository(self, name: str) -> DeletedRepository | None:
        """Tags, manifests, links and uploads of `name`; None when it does not exist."""
        deleted = await delete_repository(self.links, self.tags, self.manifests, name)
        if deleted is not None and self.index is not None:
            await self.index.repository_removed(name)
        self.usage.forget()
        return deleted

    async def referrers_of(self, name: str, subject: Digest) -> list[dict]:
        """Descriptors of the manifests in `name` whose subject is `subject`."""
        if not await self.referrers.is_indexed(name):
            if not self.writable:
                return await self.manifests.scan_referrers(name, subject)
            await self.manifests.index_existing_referrers(name)
        return await self.referrers.list(name, subject)


__all__ = ["DeletedRepository", "RegistryStore", "StoredManifest", "check_upload_id", "chunk_out_of_range"]
