"""Manifests: exact bytes in the global blob store, made visible in a
repository by a revision link, found by tag through the tag store.

Parsed manifests are cached by digest (content-addressed, so immutable); the
revision link is still checked on every read because deletes move it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ocispec import mediatypes as mt
from ocispec.digest import Digest
from ocispec.errors import ErrorCode, OciError
from ocispec.manifest import Manifest, parse_manifest

from .. import paths
from ..gc.guard import SweepGuard
from .blobs import BlobStore
from .links import Links
from .listing_index import ListingIndex
from .lru import ByteLRU
from .referrers import ReferrersIndex, referrer_descriptor
from .tags import TagStore

_CACHE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredManifest:
    digest: Digest
    media_type: str
    raw: bytes


def stored_media_type(raw: bytes) -> str:
    """The media type of stored bytes, guessed like Distribution when absent."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "application/octet-stream"
    if not isinstance(data, dict):
        return "application/octet-stream"
    declared = data.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    if data.get("schemaVersion") == 1:
        return mt.DOCKER_SCHEMA1_SIGNED if "signatures" in data else mt.DOCKER_SCHEMA1
    return mt.OCI_INDEX if "manifests" in data else mt.OCI_MANIFEST


class ManifestStore:
    def __init__(self, links: Links, blobs: BlobStore, tags: TagStore,
                 referrers: ReferrersIndex, guard: SweepGuard, index: ListingIndex | None = None):
        self.links, self.blobs, self.tags, self.referrers = links, blobs, tags, referrers
        self.guard, self.index = guard, index
        self.cache: ByteLRU[Digest, StoredManifest] = ByteLRU(
            _CACHE_BYTES, _CACHE_BYTES // 4, lambda entry: len(entry.raw))

    async def is_linked(self, name: str, digest: Digest) -> bool:
        return await self.links.exists(paths.revision_link(name, digest))

    async def get(self, name: str, digest: Digest, linked: bool = False) -> StoredManifest:
        """A manifest visible in `name` (`linked`: the caller already followed
        one of its links, e.g. a tag); raises MANIFEST_UNKNOWN."""
        if linked or await self.is_linked(name, digest):
            entry = self.cache.get(digest) or await self._load(digest)
            if entry is not None:
                return entry
        raise OciError(ErrorCode.MANIFEST_UNKNOWN, detail={"digest": str(digest)})

    async def _load(self, digest: Digest) -> StoredManifest | None:
        raw = await self.blobs.read_small(digest)
        if raw is None:
            return None
        entry = StoredManifest(digest, stored_media_type(raw), raw)
        self.cache.put(digest, entry)
        return entry

    async def put(self, name: str, manifest: Manifest, tag: str | None) -> None:
        """Every blob (or child manifest of an index) must be visible in `name`
        and stay so: the sweep guard checks, and waits out a collection that
        may be removing them, before anything is written (MANIFEST_BLOB_UNKNOWN)."""
        hold = await self.guard.protect_manifest(name, manifest)
        await self.blobs.put_small(manifest.digest, manifest.raw)
        await self.referrers.add(name, manifest)
        await hold.confirm()
        await self.links.write(paths.revision_link(name, manifest.digest), manifest.digest)
        if self.index is not None:
            await self.index.repository_added(name)
        if tag is not None:
            await self.tags.point(name, tag, manifest.digest)
        # Served as every worker would after a restart: the type the bytes declare.
        self.cache.put(manifest.digest, StoredManifest(manifest.digest, stored_media_type(manifest.raw),
                                                       manifest.raw))

    async def revisions(self, name: str) -> list[Digest]:
        """Digests of every manifest linked in `name`."""
        found = []
        for alg_key in await self.links.children(paths.revisions_dir(name)):
            for hex_key in await self.links.children(alg_key):
                text = f"{alg_key.rsplit('/', 1)[-1]}:{hex_key.rsplit('/', 1)[-1]}"
                if Digest.is_valid(text):
                    found.append(Digest.parse(text))
        return found

    async def index_existing_referrers(self, name: str) -> None:
        """Add every stored manifest with a subject to the referrers index.

        A repository without manifests is left alone: a GET must not create
        storage for any name a client cares to ask about."""
        revisions = await self.revisions(name)
        if not revisions:
            return
        async for manifest in self._readable(name, revisions):
            await self.referrers.add(name, manifest)
        await self.referrers.mark_indexed(name)

    async def scan_referrers(self, name: str, subject: Digest) -> list[dict]:
        """The referrers of `subject` found by reading every manifest, for a
        registry that may not write an index (read-only mode)."""
        return [referrer_descriptor(manifest)
                async for manifest in self._readable(name, await self.revisions(name))
                if manifest.subject is not None and manifest.subject.digest == subject]

    async def _readable(self, name: str, digests: list[Digest]):
        for digest in sorted(digests, key=str):
            try:
                entry = await self.get(name, digest, linked=True)
                yield parse_manifest(entry.raw, digest=digest)
            except (OciError, TypeError, ValueError, AttributeError, RecursionError):
                continue  # data missing or not a manifest we can read: nothing to index

    async def delete(self, name: str, digest: Digest) -> None:
        """Unlink a manifest, its tags and its referrers entry; MANIFEST_UNKNOWN if absent."""
        entry = await self.get(name, digest)
        try:
            parsed = parse_manifest(entry.raw, digest=digest)
        except (OciError, TypeError, ValueError, AttributeError, RecursionError):
            parsed = None  # e.g. schema 1 from Distribution: no subject to unindex
        if parsed is not None:
            await self.referrers.remove(name, parsed)
        for tag in await self.tags.pointing_at(name, digest):
            await self.tags.remove(name, tag)
        await self.links.remove(paths.revision_link(name, digest).rsplit("/", 1)[0])
        if self.index is not None:
            await self.index.repository_changed(name)
