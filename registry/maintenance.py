"""Purging, as Distribution's `storage.maintenance.uploadpurging`, and more:
whatever a client or a crash abandoned is deleted once older than `age`.

- upload sessions, by their `startedat`; a session without one (a
  monolithic upload cut by a kill leaves only a temporary file) by the time
  its directory was made, or its data was last written;
- temporary files of writes that never committed (`.pyreg-tmp-*` on disk)
  and multipart uploads never completed or aborted (on S3), by the driver.

On S3 the sessions are found from one flat listing of `repositories/` (a
request per thousand keys, as Distribution's purge walks), not a listing
per directory: with 10,000 repositories that walk took 10,000 requests at
every start of every replica, and slowed every other request meanwhile.

Every worker runs the loop; deleting twice is harmless, and the first pass
waits a random part of the interval so replicas spread out. One worker per
`pyreg serve` makes a pass at start-up, to clear what a crash left.
"""
from __future__ import annotations

import asyncio
import calendar
import contextlib
import logging
import random
import time
from typing import AsyncIterator

from storage_backends.base import PathNotFound
from storage_backends.bulk import walk_files

from . import paths
from .config import PurgePolicy
from .store import RegistryStore
from .store.catalog import walk_repositories

log = logging.getLogger("pyreg.registry")
# The start-up pass waits a moment: the first requests after a restart go first.
STARTUP_PASS_DELAY = 1.0


def parse_started_at(text: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 `startedat` (fraction and zone ignored)."""
    try:
        return calendar.timegm(time.strptime(text.strip()[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


async def _started(store: RegistryStore, name: str, upload_id: str) -> float | None:
    driver = store.driver
    try:
        raw = await driver.get_content(paths.upload_started_at(name, upload_id))
        return parse_started_at(raw.decode("ascii", "replace"))
    except PathNotFound:
        pass
    for key in (paths.upload_data(name, upload_id), paths.upload_dir(name, upload_id)):
        try:
            return (await driver.stat(key)).modified or None  # 0: the backend cannot tell
        except PathNotFound:
            continue
    return None


async def purge_uploads(store: RegistryStore, policy: PurgePolicy, now: float | None = None) -> list[str]:
    """Delete sessions older than the policy's age; returns their `name/id`s."""
    now = time.time() if now is None else now
    purged = []
    async for name, upload_id in _sessions(store):
        started = await _started(store, name, upload_id)
        if started is None or now - started < policy.age:
            continue
        purged.append(f"{name}/{upload_id}")
        if not policy.dry_run:
            await store.links.remove(paths.upload_dir(name, upload_id))
    return purged


async def _sessions(store: RegistryStore) -> AsyncIterator[tuple[str, str]]:
    """(repository, upload id) of every session in storage. A directory
    walk elsewhere: it also finds a session directory a crash left empty,
    which a listing of files cannot (S3 has no empty directories)."""
    if store.driver.directory_walks_are_slow:
        seen = set()
        for info in await walk_files(store.driver, paths.REPOSITORIES):
            session = paths.upload_session_of(info.key)
            if session is not None and session not in seen:
                seen.add(session)
                yield session
        return
    async with contextlib.aclosing(walk_repositories(store.links, marker="_uploads")) as names:
        async for name in names:
            for key in await store.links.children(f"{paths.repository(name)}/_uploads"):
                yield name, key.rsplit("/", 1)[-1]


async def purge_pass(store: RegistryStore, policy: PurgePolicy, now: float | None = None) -> list[str]:
    """One pass: abandoned sessions, then abandoned writes anywhere in storage."""
    now = time.time() if now is None else now
    purged = await purge_uploads(store, policy, now)
    purged += await store.driver.remove_abandoned_writes(now - policy.age, policy.dry_run)
    return purged


async def purge_forever(store: RegistryStore, policy: PurgePolicy, at_start: bool = False) -> None:
    delay = STARTUP_PASS_DELAY if at_start else random.uniform(0, min(policy.interval, 3600))
    while True:
        await asyncio.sleep(delay)
        try:
            purged = await purge_pass(store, policy)
            if purged:
                verb = "would purge" if policy.dry_run else "purged"
                log.info("%s %d abandoned uploads and writes", verb, len(purged))
        except Exception:
            log.exception("purge failed; will retry")
        delay = policy.interval
