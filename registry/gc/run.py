"""One garbage collection, start to end: lease, inventory, marks, plan, sweep.

`collect` is what a server's schedule awaits; `run_gc` is the command
line's synchronous entry point.
"""
from __future__ import annotations

import asyncio
import time

from storage_backends.base import StorageDriver
from storage_backends.bulk import delete_many

from . import keys
from .freshness import Freshness, Timing, timing_of
from .inventory import Inventory, take_inventory
from .lease import SweepLease
from .manifest_reader import ManifestReader
from .mark import mark
from .plan import Plan, make_plan
from .report import GcReport
from .sweep import Sweeper, doomed_shards


class Collection:
    """The steps of one collection, for `collect` and for tests that act
    between publishing and sweeping (as a concurrent writer would)."""

    def __init__(self, driver: StorageDriver, dry_run: bool, delete_untagged: bool, timing: Timing):
        self.driver, self.timing = driver, timing
        self.report = GcReport(dry_run, delete_untagged, timing.grace)
        self.lease = None if dry_run else SweepLease(driver, timing)
        self._sweeper: Sweeper | None = None
        self._plan: Plan | None = None

    async def prepare(self) -> Plan:
        """Lease, inventory, marks and plan; published unless dry."""
        now = time.time() if self.lease is None else await self.lease.acquire()
        inventory = await take_inventory(self.driver)
        freshness = self.timing.freshness(now, inventory.touched)
        reader = ManifestReader(self.driver)
        marks = await mark(inventory, self.driver, reader, self.report.delete_untagged, freshness)
        self._plan = make_plan(inventory, marks, reader, freshness)
        self.report.warnings += _warnings(inventory, reader, marks)
        if self.lease is None:
            self.report.removed = self._plan.items()
        else:
            await self.lease.publish(doomed_shards(self._plan))
            self._sweeper = Sweeper(self.driver, self.lease, inventory, reader, freshness, self.report)
        return self._plan

    async def sweep(self) -> None:
        await self._sweeper.run(self._plan)
        await _expire_touch_records(self.driver, self._sweeper.inventory, self._sweeper.freshness)

    async def close(self) -> None:
        if self.lease is not None:
            await self.lease.release()


async def collect(driver: StorageDriver, dry_run: bool = False, delete_untagged: bool = False,
                  timing: Timing = Timing()) -> GcReport:
    """Remove what nothing references and nobody touched within the grace
    period, while the registry serves; raises GcError when it cannot run."""
    started = time.monotonic()
    collection = Collection(driver, dry_run, delete_untagged, timing)
    try:
        await collection.prepare()
        if not dry_run:
            await collection.sweep()
    finally:
        await collection.close()
    collection.report.seconds = time.monotonic() - started
    return collection.report


def run_gc(config, dry_run: bool = False, delete_untagged: bool = False,
           grace: float | None = None) -> GcReport:
    """`pyreg gc`: one collection over the storage a registry config names,
    with its `storage.maintenance.gc` clock (`grace` overrides the policy's)."""
    from storage_backends.factory import make_driver


    async def main() -> GcReport:
        driver = make_driver(config.storage)
        try:
            return await collect(driver, dry_run, delete_untagged, timing_of(config.gc, grace))
        finally:
            await driver.close()
    return asyncio.run(main())


async def _expire_touch_records(driver: StorageDriver, inventory: Inventory, freshness: Freshness) -> None:
    """Touch records older than the threshold protect nothing any more."""
    expired = [keys.touch_record(d) for d, modified in inventory.touched.items() if not freshness.recent(modified)]
    await delete_many(driver, expired)


def _warnings(inventory: Inventory, reader: ManifestReader, marks) -> list[str]:
    found = []
    for name, repo in sorted(inventory.repositories.items()):
        for digest in sorted(repo.revisions, key=str):
            refs = reader.known(digest)
            if refs is None:
                found.append(f"{name}: manifest {digest} is linked but its bytes are missing")
            elif not refs.readable:
                found.append(f"{name}: manifest {digest} is not JSON; nothing is kept through it")
        for tag, digest in sorted(marks[name].tags.items()):
            if digest not in repo.revisions:
                found.append(f"{name}:{tag} points at {digest}, which has no revision link")
    return found
