"""Carrying out a plan while the registry keeps serving.

Each phase looks again just before it deletes: a digest whose touch record
(guard.py) was written since the collection began is spared, and
so is everything a spared manifest keeps (its children, referrers and
blobs). A writer that touched a digest after that look finds the shard
still published and waits until it is done, then sees whether the bytes
are still there. Links go before data, untagged parents before children,
so a kill at any moment leaves storage consistent; the next collection
finishes the work.
"""
from __future__ import annotations

import asyncio
import collections
import itertools

from ocispec.digest import Digest
from storage_backends.base import StorageDriver
from storage_backends.bulk import delete_many, walk_files

from .. import paths
from . import keys
from .freshness import Freshness
from .inventory import Inventory, digest_of
from .lease import SweepLease
from .manifest_reader import ManifestReader
from .mark import closure, referrers_by_subject, used_by
from .plan import Doomed, Plan
from .report import GcReport

SHARDS_AT_ONCE = 8


def doomed_shards(plan: Plan) -> dict[tuple[str, tuple[str, str]], list[str]]:
    """What a sweep publishes: per (phase, shard), the hex digests it may delete."""
    shards: dict[tuple[str, tuple[str, str]], list[str]] = collections.defaultdict(list)
    for phase, items in (("unlink", plan.unlink), ("blobs", plan.blobs)):
        for item in items:
            shards[(phase, keys.shard_of(item.digest))].append(item.digest.encoded)
    return dict(shards)


class Sweeper:
    def __init__(self, driver: StorageDriver, lease: SweepLease, inventory: Inventory,
                 reader: ManifestReader, freshness: Freshness, report: GcReport):
        self.driver, self.lease, self.inventory = driver, lease, inventory
        self.reader, self.freshness, self.report = reader, freshness, report
        self.reprieved: dict[str | None, set[Digest]] = collections.defaultdict(set)  # None: any repository

    async def run(self, plan: Plan) -> None:
        await self.unlink(plan.unlink)
        await self.blobs(plan.blobs)
        await self.uploads(plan.uploads)

    async def unlink(self, items: list[Doomed]) -> None:
        """Decide in order (a spared parent reprieves its children), then
        delete in that order, in as few requests as the backend allows."""
        shards = sorted({keys.shard_of(item.digest) for item in items})
        touched = await self._touched_in(shards)
        doomed = []
        for item in items:
            if item.digest in self.reprieved[item.repository] or self._recently_touched(item, touched):
                self._spare(item)
                if item.kind == "manifest":
                    await self._reprieve(item.repository, item.digest)
            else:
                doomed.append(item)
        self.lease.check()
        await delete_many(self.driver, [key for item in doomed for key in item.links])
        self.report.removed += doomed
        for shard in shards:
            await self.lease.finish_shard("unlink", shard)

    async def blobs(self, items: list[Doomed]) -> None:
        """Shard by shard, a few at once (each is a handful of deletes, so
        one at a time the sweep mostly waited on thread hops and round trips)."""
        by_shard = itertools.groupby(sorted(items, key=lambda i: keys.shard_of(i.digest)),
                                     key=lambda i: keys.shard_of(i.digest))
        gate = asyncio.Semaphore(SHARDS_AT_ONCE)

        async def one(shard: tuple[str, str], group: list[Doomed]) -> list[Doomed]:
            async with gate:
                return await self._blob_shard(shard, group)
        for doomed in await _all_or_none([one(shard, list(group)) for shard, group in by_shard]):
            self.report.removed += doomed

    async def _blob_shard(self, shard: tuple[str, str], group: list[Doomed]) -> list[Doomed]:
        """Look at the shard's touch records, then delete links, then data."""
        touched = await self._touched_in([shard])
        doomed = []
        for item in group:
            if item.digest in self.reprieved[None] or self._recently_touched(item, touched):
                self._spare(item)
            else:
                doomed.append(item)
        self.lease.check()
        await delete_many(self.driver, [key for item in doomed for key in item.links], ordered=False)
        self.lease.check()
        await delete_many(self.driver, [key for item in doomed for key in item.data], ordered=False)
        await self.lease.finish_shard("blobs", shard)
        return doomed

    async def uploads(self, items: list[Doomed]) -> None:
        for item in items:
            upload_id = item.name.rsplit("/", 1)[-1]
            now = await walk_files(self.driver, paths.upload_dir(item.repository, upload_id))
            if any(self.freshness.upload_recent(info.modified) for info in now):
                self._spare(item)
                continue
            await delete_many(self.driver, [info.key for info in now])
            self.report.removed.append(item)

    def _recently_touched(self, item: Doomed, touched: dict[Digest, float]) -> bool:
        return item.digest in touched and self.freshness.recent(touched[item.digest])

    async def _touched_in(self, shards: list[tuple[str, str]]) -> dict[Digest, float]:
        """Touch records of the shards, read just before their deletes."""
        found = {}
        for shard in shards:
            for info in await walk_files(self.driver, keys.touched_shard(shard)):
                digest = digest_of(shard[0], info.key.rsplit("/", 1)[-1])
                if digest is not None:
                    found[digest] = info.modified
        return found

    async def _reprieve(self, name: str, digest: Digest) -> None:
        """A spared manifest keeps what it keeps: children, referrers, blobs."""
        repo = self.inventory.repositories[name]
        kept = await closure({digest}, self.reader, referrers_by_subject(repo, self.reader))
        used = used_by(kept, self.reader)
        self.reprieved[name] |= used
        self.reprieved[None] |= used

    def _spare(self, item: Doomed) -> None:
        self.report.spared.append(item)


async def _all_or_none(calls: list) -> list:
    """Await every call; on the first failure cancel the rest (a lost lease
    must stop every delete), then raise it."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
