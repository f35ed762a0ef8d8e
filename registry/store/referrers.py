"""The referrers index: for each subject digest, the descriptors of the
manifests whose `subject` names it.

It is kept up to date when a manifest is put or deleted, so answering the
referrers API reads one small file per referrer instead of scanning every
manifest in the repository. A repository written by another registry (e.g.
Distribution 2.8.2, which keeps no such index) is scanned once, on its
first referrers request, and then marked as indexed.
"""
from __future__ import annotations

import json

from ocispec.digest import Digest
from ocispec.manifest import Manifest
from storage_backends.base import PathNotFound, StorageDriver

from .. import paths
from .links import Links


def referrer_descriptor(manifest: Manifest) -> dict:
    """What the referrers API lists for a manifest (image-spec descriptor)."""
    entry = {"mediaType": manifest.media_type, "digest": str(manifest.digest),
             "size": len(manifest.raw)}
    artifact_type = manifest.effective_artifact_type()
    if artifact_type:
        entry["artifactType"] = artifact_type
    if manifest.annotations:
        entry["annotations"] = dict(manifest.annotations)
    return entry


class ReferrersIndex:
    def __init__(self, driver: StorageDriver, links: Links):
        self.driver = driver
        self.links = links
        self._indexed: set[str] = set()  # the marker is never removed: remember it

    async def is_indexed(self, name: str) -> bool:
        if name not in self._indexed and await self.driver.exists(paths.referrers_marker(name)):
            self._indexed.add(name)
        return name in self._indexed

    async def mark_indexed(self, name: str) -> None:
        await self.driver.put_content(paths.referrers_marker(name), b"1")
        self._indexed.add(name)

    async def add(self, name: str, manifest: Manifest) -> None:
        if manifest.subject is None:
            return
        key = paths.referrer_descriptor(name, manifest.subject.digest, manifest.digest)
        body = json.dumps(referrer_descriptor(manifest), sort_keys=True).encode()
        await self.driver.put_content(key, body)

    async def remove(self, name: str, manifest: Manifest) -> None:
        if manifest.subject is None:
            return
        key = paths.referrer_descriptor(name, manifest.subject.digest, manifest.digest)
        await self.links.remove(key.rsplit("/", 1)[0])

    async def list(self, name: str, subject: Digest) -> list[dict]:
        """Descriptors of the referrers of `subject`, in digest order."""
        entries = []
        for alg_key in await self.links.children(paths.referrers_dir(name, subject)):
            for hex_key in await self.links.children(alg_key):
                entry = await self._read(f"{hex_key}/descriptor")
                if entry is not None:
                    entries.append(entry)
        return entries

    async def _read(self, key: str) -> dict | None:
        try:
            entry = json.loads(await self.driver.get_content(key))
        except (PathNotFound, ValueError):
            return None
        return entry if isinstance(entry, dict) else None
