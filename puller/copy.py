"""The one walk behind pull, push and copy: read the top manifest, choose
platforms, move every missing blob in parallel, then write child manifests
before the manifest that names them (a destination never points at
something it does not have)."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ocispec.descriptor import Descriptor, Platform
from ocispec.manifest import Manifest

from .errors import CorruptImage, NoMatchingPlatform
from .progress import Progress
from .store import pick_platform


@dataclass(frozen=True)
class CopyResult:
    descriptor: Descriptor  # what the destination now names
    manifest: Manifest
    blobs_moved: int
    blobs_skipped: int


def _descriptor_of(manifest: Manifest, platform: Platform | None = None) -> Descriptor:
    return Descriptor(manifest.media_type, manifest.digest, len(manifest.raw), platform=platform)


async def _images_of(source, top: Manifest, platform: Platform | None) -> tuple[Manifest, list]:
    """(manifest to name at the destination, [(descriptor, image manifest)])."""
    if not top.is_index:
        return top, [(_descriptor_of(top), top)]
    if platform is not None:
        try:
            chosen = pick_platform(top, platform)
        except NoMatchingPlatform as err:
            raise NoMatchingPlatform(f"{source.describe()}: {err}") from None
        child = await source.manifest(chosen)
        if child.is_index:
            raise CorruptImage(f"{source.describe()}: nested index for {platform} is not supported")
        return child, [(chosen, child)]
    children = await asyncio.gather(*(source.manifest(d) for d in top.manifests))
    nested = [c for c in children if c.is_index]
    if nested:
        raise CorruptImage(f"{source.describe()}: nested indexes are not supported")
    return top, list(zip(top.manifests, children))


def _unique_blobs(images: list) -> list[Descriptor]:
    seen, blobs = set(), []
    for _, manifest in images:
        for blob in manifest.blob_references():
            if blob.digest not in seen:
                seen.add(blob.digest)
                blobs.append(blob)
    return blobs


async def copy_image(source, dest, *, platform: Platform | None, jobs: int = 6,
                     progress: Progress | None = None) -> CopyResult:
    """Copy the image `source` names to `dest`. With `platform`, an index is
    narrowed to that platform's image; without, everything is copied."""
    progress = progress or Progress(quiet=True)
    top = await source.top()
    named, images = await _images_of(source, top, platform)
    blobs = _unique_blobs(images)
    limit = asyncio.Semaphore(max(1, jobs))
    moved = 0

    async def move(blob: Descriptor) -> None:
        nonlocal moved
        key = str(blob.digest)
        async with limit:
            if await dest.has_blob(blob):
                progress.finish(key, "already exists")
                return
            progress.add(key, blob.size)
            status = await dest.put_blob(blob, source, lambda n: progress.advance(key, n))
            moved += status != "exists"
            progress.finish(key, {"pulled": "done", "pushed": "pushed"}.get(status, status))

    # largest first: with fewer slots than blobs, the long transfers overlap
    tasks = [asyncio.ensure_future(move(blob)) for blob in sorted(blobs, key=lambda b: -b.size)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    for descriptor, manifest in images:
        if manifest is not named:
            await dest.put_manifest(manifest, descriptor, top=False)
    named_descriptor = _descriptor_of(named)
    await dest.put_manifest(named, named_descriptor, top=True)
    progress.close()
    return CopyResult(named_descriptor, named, moved, len(blobs) - moved)
