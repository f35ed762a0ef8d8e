"""Delivering one endpoint's queue, batch by batch, oldest first, until each
is accepted (any 2xx or 3xx, as Distribution's HTTP sink counts success).

A failure (an error status, a refused connection, a receiver that hangs
past `timeout`) is retried at once until `threshold` failures in a row;
after that the worker waits `backoff` between attempts, as Distribution's
retrying sink does. A batch is removed only once it was accepted, so a
restart resends at most the batch in flight.

With several worker processes on one queue directory, one delivers: it
holds an flock on the directory's lock file; the others only append, and
take over when it exits (the kernel drops the lock with the process).
"""
from __future__ import annotations

import asyncio
import fcntl
import logging
import os

import aiohttp

from .envelope import MEDIA_TYPE, envelope
from .queue import DiskQueue
from .settings import EndpointSettings

log = logging.getLogger("pyreg.events")
LOCK_NAME = ".delivering"
IDLE_POLL = 0.5  # seconds between looks at an empty queue, or at a lock another process holds


class EndpointWorker:
    def __init__(self, settings: EndpointSettings, queue: DiskQueue, session: aiohttp.ClientSession):
        self.settings, self.queue, self.session = settings, queue, session
        self.wakeup = asyncio.Event()
        self.failures = 0  # in a row
        self.delivered = 0
        self._lock_fd: int | None = None

    async def run(self) -> None:
        try:
            while not await asyncio.to_thread(self._take_lock):
                await self._idle()
            while True:
                names = await asyncio.to_thread(self.queue.batches)
                if not names:
                    await self._idle()
                    continue
                for name in names:
                    await self._deliver(name)
        finally:
            self._release_lock()

    async def _deliver(self, name: str) -> None:
        events = await asyncio.to_thread(self.queue.read, name)
        if events is None:
            return
        while not await self._send(events):
            self.failures += 1
            if self.failures >= self.settings.threshold:
                await asyncio.sleep(self.settings.backoff)
        self.failures = 0
        self.delivered += len(events)
        await asyncio.to_thread(self.queue.remove, name)

    async def _send(self, events: list[dict]) -> bool:
        headers = [*self.settings.headers, ("Content-Type", MEDIA_TYPE)]
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        try:
            async with self.session.post(self.settings.url, data=envelope(events), headers=headers,
                                         timeout=timeout) as response:
                if 200 <= response.status < 400:
                    return True
                reason = f"answered {response.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            reason = f"failed: {type(error).__name__} {error}".rstrip()
        if self.failures + 1 == self.settings.threshold:  # once per outage, not per attempt
            log.warning("notifications endpoint %s (%s) %s; backing off %.1fs between attempts",
                        self.settings.name, self.settings.url, reason, self.settings.backoff)
        return False

    async def _idle(self) -> None:
        self.wakeup.clear()
        try:
            await asyncio.wait_for(self.wakeup.wait(), IDLE_POLL)
        except asyncio.TimeoutError:
            pass

    def _take_lock(self) -> bool:
        fd = os.open(os.path.join(self.queue.directory, LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
