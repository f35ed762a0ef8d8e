"""A sweep's presence in storage: its lease and the digests it may delete.

A collection writes `sweeps/<epoch>/state` before it reads anything and
rewrites it as a heartbeat; the state's modification time is the storage's
clock, which gives the collection its start time. Before deleting, it
publishes one `doomed` file per (phase, shard) and removes each once that
shard is done. A writer that relies on a digest (guard.py) finds the live
sweeps here and waits for the shards that name it.

Only one collection runs at a time: a second refuses to start while a live
state exists. Correctness does not depend on it (a writer checks every
live sweep); it only saves doing the work twice.
"""
from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import uuid

from storage_backends.base import PathNotFound, StorageDriver
from storage_backends.bulk import delete_many

from . import keys
from .errors import GcBusy, LeaseLost
from .freshness import Timing


def new_epoch() -> str:
    """Sortable by start time; unique across hosts."""
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:12]}"


async def _modified(driver: StorageDriver, key: str) -> float | None:
    try:
        return (await driver.stat(key)).modified
    except PathNotFound:
        return None


async def _delete(driver: StorageDriver, key: str) -> None:
    try:
        await driver.delete(key)
    except PathNotFound:
        pass


async def sweep_epochs(driver: StorageDriver) -> list[str]:
    try:
        return [key.rsplit("/", 1)[-1] for key in await driver.list(keys.SWEEPS)]
    except PathNotFound:
        return []


async def live_epochs(driver: StorageDriver, now: float, lease: float) -> list[str]:
    """Sweeps whose state was rewritten within `lease` of `now` (storage time)."""
    live = []
    for epoch in await sweep_epochs(driver):
        modified = await _modified(driver, keys.sweep_state(epoch))
        if modified is not None and modified > now - lease:
            live.append(epoch)
    return live


async def doomed_in(driver: StorageDriver, epoch: str, phase: str, shard: tuple[str, str]) -> set[str] | None:
    """Hex digests a sweep published for a shard; None once it finished the shard."""
    try:
        raw = await driver.get_content(keys.doomed_shard(epoch, phase, shard))
    except PathNotFound:
        return None
    return set(raw.decode("ascii", "replace").split())


class SweepLease:
    def __init__(self, driver: StorageDriver, timing: Timing):
        self.driver, self.timing = driver, timing
        self.epoch = new_epoch()
        self.phase = "marking"
        self._last_beat = 0.0
        self._heartbeat: asyncio.Task | None = None

    async def acquire(self) -> float:
        """Write the state; returns its time (storage's clock). Raises GcBusy
        when another live sweep holds a lease; removes dead ones."""
        now = await self._beat()
        for epoch in await sweep_epochs(self.driver):
            if epoch == self.epoch:
                continue
            modified = await _modified(self.driver, keys.sweep_state(epoch))
            if modified is not None and modified > now - self.timing.lease:
                await _delete(self.driver, keys.sweep_dir(self.epoch))
                raise GcBusy(f"another garbage collection is running (sweep {epoch})")
            await _delete(self.driver, keys.sweep_dir(epoch))  # killed: its lease ran out
        self._heartbeat = asyncio.create_task(self._beat_forever())
        return now

    async def publish(self, doomed: dict[tuple[str, tuple[str, str]], list[str]]) -> None:
        """Name what may go, shard by shard, then enter the sweeping phase."""
        for (phase, shard), hexes in sorted(doomed.items()):
            await self.driver.put_content(keys.doomed_shard(self.epoch, phase, shard),
                                          "\n".join(sorted(hexes)).encode())
        self.phase = "sweeping"
        await self._beat()

    async def finish_shard(self, phase: str, shard: tuple[str, str]) -> None:
        await delete_many(self.driver, [keys.doomed_shard(self.epoch, phase, shard)])

    def check(self) -> None:
        """Before a delete: the lease must still be ours to use."""
        silent = time.monotonic() - self._last_beat
        if silent > self.timing.lease / 2:
            raise LeaseLost(f"sweep state not rewritten for {silent:.0f}s; stopping before the lease ends")

    async def release(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        await _delete(self.driver, keys.sweep_dir(self.epoch))

    async def _beat(self) -> float:
        state = {"epoch": self.epoch, "phase": self.phase, "host": socket.gethostname(), "pid": os.getpid()}
        key = keys.sweep_state(self.epoch)
        await self.driver.put_content(key, json.dumps(state).encode())
        self._last_beat = time.monotonic()
        return (await self.driver.stat(key)).modified

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.timing.lease / 4)
            try:
                await self._beat()
            except Exception:  # check() stops the sweep once beats have failed for long enough
                continue
