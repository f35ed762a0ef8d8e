"""What the notifier looks up in storage after a request, off its path: a
blob's size when the response did not carry it, and (with
`events.includereferences`) the descriptors a pushed manifest names."""
from __future__ import annotations

import json

from ocispec.digest import Digest
from ocispec.errors import OciError
from storage_backends.base import StorageError

from ..store import RegistryStore


class StoreLookup:
    def __init__(self, store: RegistryStore):
        self.store = store

    async def size_of(self, repository: str, digest: str) -> int | None:
        try:
            return await self.store.blobs.global_size(Digest.parse(digest))
        except (OciError, StorageError):
            return None  # no size is better than no event

    async def references(self, repository: str, digest: str) -> list[dict] | None:
        """The manifest's config, layers and children, as descriptors."""
        try:
            raw = await self.store.blobs.read_small(Digest.parse(digest))
            data = json.loads(raw) if raw is not None else None
        except (OciError, StorageError, ValueError, UnicodeDecodeError, RecursionError):
            return None
        if not isinstance(data, dict):
            return None
        entries = [data.get("config"), *(data.get("layers") or []), *(data.get("manifests") or [])]
        return [{key: entry[key] for key in ("mediaType", "digest", "size") if key in entry}
                for entry in entries if isinstance(entry, dict)]
