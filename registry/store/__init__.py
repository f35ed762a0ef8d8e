"""Repository semantics between the HTTP handlers and a storage driver:
blob links, manifest revisions, tags, referrers and upload sessions.
Handlers call these; only `registry.paths` builds storage keys."""
from __future__ import annotations

from ocispec.digest import Digest
from storage_backends.base import StorageDriver

from .blobs import BlobStore
from .catalog import repository_names
from .links import Links
from .manifests import ManifestStore, StoredManifest
from .referrers import ReferrersIndex
from .tags import TagStore
from .uploads import UploadStore, check_upload_id, chunk_out_of_range


class RegistryStore:
    def __init__(self, driver: StorageDriver):
        self.driver = driver
        self.links = Links(driver)
        self.blobs = BlobStore(driver, self.links)
        self.tags = TagStore(self.links)
        self.referrers = ReferrersIndex(driver, self.links)
        self.manifests = ManifestStore(self.links, self.blobs, self.tags, self.referrers)
        self.uploads = UploadStore(driver, self.blobs)

    async def repositories(self) -> list[str]:
        return await repository_names(self.links)

    async def referrers_of(self, name: str, subject: Digest) -> list[dict]:
        """Descriptors of the manifests in `name` whose subject is `subject`."""
        if not await self.referrers.is_indexed(name):
            await self.manifests.index_existing_referrers(name)
        return await self.referrers.list(name, subject)


__all__ = ["RegistryStore", "StoredManifest", "check_upload_id", "chunk_out_of_range"]
