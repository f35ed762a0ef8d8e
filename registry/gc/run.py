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
from .freshness import Freshness, Timing
from .inventory import Inventory, take_inventory
from .lease import SweepLease
from .manifest_reader import ManifestReader
from .mark import mark
from .plan import make_plan
from .report import GcReport
from .sweep import Sweeper, doomed_shards


async def collect(driver: StorageDriver, dry_run: bool = False, delete_untagged: bool = False,
                  timing: Timing = Timing()) -> GcReport:
    """Remove what nothing references and nobody touched within the grace
    period, while the registry serves; raises GcError when it cannot run."""
    started = time.monotonic()
    report = GcReport(dry_run, delete_untagged, timing.grace)
    lease = None if dry_run else SweepLease(driver, timing)
    try:
        now = time.time() if lease is None else await lease.acquire()
        inventory = await take_inventory(driver)
        freshness = timing.freshness(now, inventory.touched)
        reader = ManifestReader(driver)
        marks = await mark(inventory, driver, reader, delete_untagged, freshness)
        plan = make_plan(inventory, marks, reader, freshness)
        report.warnings += _warnings(inventory, reader, marks)
        if lease is None:
            report.removed = plan.items()
        else:
            await lease.publish(doomed_shards(plan))
            await Sweeper(driver, lease, inventory, reader, freshness, report).run(plan)
            await _expire_touch_records(driver, inventory, freshness)
    finally:
        if lease is not None:
            await lease.release()
    report.seconds = time.monotonic() - started
    return report


def run_gc(target, dry_run: bool = False, delete_untagged: bool = False,
           grace: float = Timing.grace) -> GcReport:
    """`pyreg gc`: `target` is a StorageDriver or a registry config (its `storage`)."""
    async def main() -> GcReport:
        driver = target if isinstance(target, StorageDriver) else _open(target)
        try:
            return await collect(driver, dry_run, delete_untagged, Timing(grace=grace))
        finally:
            if driver is not target:
                await driver.close()
    return asyncio.run(main())


def _open(config) -> StorageDriver:
    from storage_backends.factory import make_driver
    return make_driver(config.storage)


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
