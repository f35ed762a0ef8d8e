"""Upload purging, as Distribution's `storage.maintenance.uploadpurging`:
sessions a client abandoned are deleted once older than `age`.

Every worker runs the loop; deleting a session twice is harmless, and the
first pass waits a random part of the interval so replicas spread out.
"""
from __future__ import annotations

import asyncio
import calendar
import logging
import random
import time

from storage_backends.base import PathNotFound

from . import paths
from .config import PurgePolicy
from .store import RegistryStore
from .store.catalog import repository_names

log = logging.getLogger("pyreg.registry")


def parse_started_at(text: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 `startedat` (fraction and zone ignored)."""
    try:
        return calendar.timegm(time.strptime(text.strip()[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


async def _started(store: RegistryStore, name: str, upload_id: str) -> float | None:
    try:
        raw = await store.driver.get_content(paths.upload_started_at(name, upload_id))
        return parse_started_at(raw.decode("ascii", "replace"))
    except PathNotFound:
        try:  # no startedat: judge by when data last changed
            return (await store.driver.stat(paths.upload_data(name, upload_id))).modified or None
        except PathNotFound:
            return None


async def purge_uploads(store: RegistryStore, policy: PurgePolicy, now: float | None = None) -> list[str]:
    """Delete sessions older than the policy's age; returns their `name/id`s."""
    now = time.time() if now is None else now
    purged = []
    for name in await repository_names(store.links, "_uploads"):
        for key in await store.links.children(f"{paths.repository(name)}/_uploads"):
            upload_id = key.rsplit("/", 1)[-1]
            started = await _started(store, name, upload_id)
            if started is None or now - started < policy.age:
                continue
            purged.append(f"{name}/{upload_id}")
            if not policy.dry_run:
                await store.links.remove(key)
    return purged


async def purge_forever(store: RegistryStore, policy: PurgePolicy) -> None:
    await asyncio.sleep(random.uniform(0, min(policy.interval, 3600)))
    while True:
        try:
            purged = await purge_uploads(store, policy)
            if purged:
                log.info("purged %d abandoned uploads", len(purged))
        except Exception:
            log.exception("upload purge failed; will retry")
        await asyncio.sleep(policy.interval)
