"""The writers' side of online garbage collection.

A write that relies on bytes already stored (a manifest naming blobs and
child manifests, a mount, an upload of a blob the store already has) must
never commit after a sweep removed them. The protocol, with sweep.py:

1. A link younger than `touch_age` needs nothing: every sweep that might
   miss the commit keeps it (Timing.keep_for covers touch_age plus the
   commit window).
2. Otherwise the writer first writes a touch record for the digest, then
   looks for live sweeps. A sweep looks at touch records only after
   publishing what it may delete; so either it sees the record and spares
   the digest, or the writer sees the digest published. Then the writer
   waits until that shard is done and checks that the bytes (and its
   link) are still there: if not, MANIFEST_BLOB_UNKNOWN, before anything
   was committed.
3. Linking bytes already stored (a mount, an upload deduplicated) asks
   `stored_for_reuse` first, which touches and waits the same way.
4. A commit must follow the checks within `commit_window`; `Hold.confirm`
   checks again when it does not.

Replica clocks must agree with the storage's within the commit window.
"""
from __future__ import annotations

import asyncio
import time
from typing import Iterable

from ocispec.digest import Digest
from ocispec.errors import ErrorCode, OciError
from ocispec.manifest import Manifest
from storage_backends.base import PathNotFound, StorageDriver

from .. import paths
from . import keys
from .freshness import Timing
from .lease import doomed_in, live_epochs


def _blob_unknown(digest: Digest, why: str) -> OciError:
    return OciError(ErrorCode.MANIFEST_BLOB_UNKNOWN, why, {"digest": str(digest)})


class Hold:
    """The checks of one manifest PUT, valid for the commit window."""

    def __init__(self, guard: "SweepGuard", name: str, manifest: Manifest):
        self.guard, self.name, self.manifest = guard, name, manifest
        self.checked_at = time.monotonic()

    async def confirm(self) -> None:
        """Call just before writing the revision link (the commit)."""
        if time.monotonic() - self.checked_at > self.guard.timing.commit_window:
            await self.guard.protect_manifest(self.name, self.manifest)
            self.checked_at = time.monotonic()


class SweepGuard:
    def __init__(self, driver: StorageDriver, timing: Timing = Timing()):
        self.driver, self.timing = driver, timing

    async def protect_manifest(self, name: str, manifest: Manifest) -> Hold:
        """Check (and protect) everything `manifest` needs in `name`, before
        its bytes and links are written (ManifestStore.put); raises
        MANIFEST_BLOB_UNKNOWN."""
        needs = [(d.digest, paths.layer_link(name, d.digest)) for d in manifest.blob_references() if not d.urls]
        needs += [(d.digest, paths.revision_link(name, d.digest)) for d in manifest.manifests]
        ages = await asyncio.gather(*(self._age(key) for _, key in needs))
        for (digest, _), age in zip(needs, ages):
            if age is None:
                raise _blob_unknown(digest, "blob unknown to repository")
        relied = {digest: key for (digest, key), age in zip(needs, ages) if age > self.timing.touch_age}
        own = manifest.digest
        own_ages = await asyncio.gather(self._age(paths.blob_data(own)), self._age(paths.revision_link(name, own)))
        own_old = any(age is not None and age > self.timing.touch_age for age in own_ages)
        if relied or own_old:
            await self.rely_on([*relied, *([own] if own_old else [])])
            for digest, link in relied.items():
                if not await self._exists(paths.blob_data(digest)) or not await self._exists(link):
                    raise _blob_unknown(digest, "blob removed by garbage collection; push it again")
        return Hold(self, name, manifest)

    async def stored_for_reuse(self, digest: Digest) -> bool:
        """Before linking bytes the store already has instead of writing them
        (a mount, a re-upload): True when they may be relied on, False when
        they are gone (or a sweep took them meanwhile: write them again).
        Once touched, a later sweep spares them and the new link is young."""
        age = await self._age(paths.blob_data(digest))
        if age is None:
            return False
        if age <= self.timing.touch_age:
            return True
        await self.rely_on([digest])
        return await self._exists(paths.blob_data(digest))

    async def rely_on(self, digests: Iterable[Digest]) -> None:
        """Touch the digests, then wait out every live sweep that may delete them."""
        digests = sorted(set(digests), key=str)
        await asyncio.gather(*(self.driver.put_content(keys.touch_record(d), b"") for d in digests))
        clock = StorageClock((await self.driver.stat(keys.touch_record(digests[0]))).modified)
        for epoch in await live_epochs(self.driver, clock.now(), self.timing.lease):
            for phase in keys.PHASES:
                for shard in sorted({keys.shard_of(d) for d in digests}):
                    hexes = await doomed_in(self.driver, epoch, phase, shard)
                    if hexes and any(d.encoded in hexes for d in digests if keys.shard_of(d) == shard):
                        await self._wait_for(epoch, phase, shard, clock)

    async def _wait_for(self, epoch: str, phase: str, shard: tuple[str, str], clock: "StorageClock") -> None:
        """Until the sweep finished the shard, or died (its lease ran out)."""
        deadline = time.monotonic() + 2 * self.timing.lease
        while await doomed_in(self.driver, epoch, phase, shard) is not None:
            if epoch not in await live_epochs(self.driver, clock.now(), self.timing.lease):
                return
            if time.monotonic() > deadline:
                raise OciError(ErrorCode.MANIFEST_BLOB_UNKNOWN,
                               "garbage collection is still deciding on a blob; retry later")
            await asyncio.sleep(self.timing.poll)

    async def _age(self, key: str) -> float | None:
        """Seconds since the key was written, None when it is absent."""
        try:
            return max(0.0, time.time() - (await self.driver.stat(key)).modified)
        except PathNotFound:
            return None

    async def _exists(self, key: str) -> bool:
        return await self._age(key) is not None


class StorageClock:
    """The storage's time, from one key just written, moved on by our own clock."""

    def __init__(self, storage_time: float):
        self._base, self._started = storage_time, time.monotonic()

    def now(self) -> float:
        return self._base + time.monotonic() - self._started
