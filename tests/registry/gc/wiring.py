"""The manifest PUT and mount paths with the sweep guard in place, exactly as
the registry's store is to call it (the server is wired in a later change;
these tests drive the same sequence through the real store objects)."""
from __future__ import annotations

from ocispec.digest import Digest
from ocispec.errors import ErrorCode, OciError
from ocispec.manifest import parse_manifest
from registry import paths
from registry.gc import SweepGuard
from registry.store import RegistryStore


async def guarded_put(store: RegistryStore, guard: SweepGuard, name: str, raw: bytes,
                      tag: str | None) -> Digest:
    """ManifestStore.put with protect_manifest in place of check_references."""
    manifest = parse_manifest(raw)
    hold = await guard.protect_manifest(name, manifest)
    await store.blobs.put_small(manifest.digest, manifest.raw)
    await store.referrers.add(name, manifest)
    await hold.confirm()
    await store.links.write(paths.revision_link(name, manifest.digest), manifest.digest)
    if tag is not None:
        await store.tags.point(name, tag, manifest.digest)
    return manifest.digest


async def guarded_mount(store: RegistryStore, guard: SweepGuard, name: str, source: str,
                        digest: Digest) -> bool:
    """A cross-repository mount: link, then make sure no sweep took the bytes."""
    if not await store.blobs.is_linked(source, digest) or await store.blobs.global_size(digest, fresh=True) is None:
        return False
    await store.blobs.link(name, digest)
    if not await guard.blob_still_stored(name, digest):
        await store.blobs.unlink(name, digest)
        return False
    return True


def is_blob_unknown(error: BaseException) -> bool:
    return isinstance(error, OciError) and error.code is ErrorCode.MANIFEST_BLOB_UNKNOWN
