"""Collections on a schedule inside the server (`storage.maintenance.gc`).

Every worker of every replica runs the loop, each first waiting a random
part of the interval; the collection's lease (lease.py) lets one of them
sweep at a time and the others skip that turn (GcBusy), so however many
processes serve one storage, collections do not pile up.
"""
from __future__ import annotations

import asyncio
import logging
import random

from storage_backends.base import StorageDriver

from ..config import GcPolicy
from .errors import GcBusy
from .freshness import timing_of
from .run import collect

log = logging.getLogger("pyreg.registry")


async def collect_once(driver: StorageDriver, policy: GcPolicy) -> None:
    """One scheduled collection, its outcome one log line; never raises."""
    try:
        report = await collect(driver, policy.dry_run, policy.delete_untagged, timing_of(policy))
    except GcBusy as busy:
        log.info("gc skipped: %s", busy)
    except Exception as error:  # the next turn tries again; the server goes on
        log.error("gc failed: %s: %s", type(error).__name__, error)
    else:
        log.info("%s", report.summary())
        for warning in report.warnings:
            log.warning("gc: %s", warning)


async def collect_forever(driver: StorageDriver, policy: GcPolicy) -> None:
    await asyncio.sleep(policy.interval * random.uniform(0.5, 1.0))
    while True:
        await collect_once(driver, policy)
        await asyncio.sleep(policy.interval)
