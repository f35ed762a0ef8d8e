"""The notifier: events handed over by requests, persisted per endpoint,
delivered in the background.

`publish` only appends to a list in memory and wakes the persister: a
request never waits for the disk or the network, whatever the receivers
do. The persister writes what accumulated, as one batch per endpoint
(filtered by its ignore settings), on a thread; the endpoint workers send
from disk. Between a publish and its batch being written (a few
milliseconds) a kill -9 can lose events; everything written survives a
restart. Memory is bounded too: past `memory_limit` pending events the
oldest are dropped and counted.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import uuid
from typing import AsyncIterator

import aiohttp

from .delivery import EndpointWorker
from .envelope import Source
from .lookup import StoreLookup
from .queue import DiskQueue
from .settings import EndpointSettings, NotificationSettings

log = logging.getLogger("pyreg.events")


def queue_directory(base: str, endpoint: EndpointSettings) -> str:
    """One directory per endpoint, stable across restarts, safe as a name."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", endpoint.name)[:64]
    return os.path.join(base, f"{safe}-{hashlib.sha256(endpoint.url.encode()).hexdigest()[:8]}")


class Notifier:
    def __init__(self, settings: NotificationSettings, queue_dir: str, source_addr: str,
                 lookup: StoreLookup | None = None, memory_limit: int = 10_000, queue_limit: int = 10_000):
        self.settings = settings
        self.source = Source(source_addr, str(uuid.uuid4()))
        self.queues = [(endpoint, DiskQueue(queue_directory(queue_dir, endpoint), queue_limit))
                       for endpoint in settings.endpoints]
        self.lookup, self.memory_limit = lookup, memory_limit
        self.dropped = 0
        self._pending: list[dict] = []
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task] = []
        self._workers: list[EndpointWorker] = []
        self._session: aiohttp.ClientSession | None = None

    def publish(self, event: dict) -> None:
        """Hand an event over; never blocks, never raises."""
        self._pending.append(event)
        if len(self._pending) > self.memory_limit:
            del self._pending[0]
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                log.warning("notifications are %d events behind the disk; %d dropped so far",
                            self.memory_limit, self.dropped)
        self._wakeup.set()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._workers = [EndpointWorker(endpoint, queue, self._session) for endpoint, queue in self.queues]
        self._tasks = [asyncio.create_task(self._persist_forever())]
        self._tasks += [asyncio.create_task(worker.run()) for worker in self._workers]

    async def stop(self) -> None:
        """Write what is pending, then stop delivering (the queue keeps the rest).
        The writer is asked to finish, not cancelled: a cancel in the middle of
        a write would drop the events it had taken from memory."""
        writer, workers = self._tasks[:1], self._tasks[1:]
        for task in workers:
            task.cancel()
        self._stopping = True
        self._wakeup.set()
        await asyncio.gather(*writer, *workers, return_exceptions=True)
        await self._persist()
        if self._session is not None:
            await self._session.close()

    async def cleanup_ctx(self, _app) -> AsyncIterator[None]:
        """For `app.cleanup_ctx`: deliver while the app runs."""
        await self.start()
        yield
        await self.stop()

    async def _persist_forever(self) -> None:
        while not self._stopping:
            await self._wakeup.wait()
            self._wakeup.clear()
            try:
                await self._persist()
            except OSError as error:  # a full or broken disk must not end the loop
                log.error("could not write notification events to disk: %s; retrying", error)
                await asyncio.sleep(1)
                self._wakeup.set()

    async def _persist(self) -> None:
        events, self._pending = self._pending, []
        if not events:
            return
        await self._complete(events)
        written = []
        try:
            for endpoint, queue in self.queues:
                wanted = [event for event in events if endpoint.wants(event)]
                if wanted:
                    await asyncio.to_thread(queue.append, wanted)
                    written.append(queue)
        except OSError:
            if not written:  # nothing of it reached any queue: keep it for the next pass
                self._pending[:0] = events[-self.memory_limit:]
            raise
        finally:
            for worker in self._workers:
                worker.wakeup.set()

    async def _complete(self, events: list[dict]) -> None:
        """What a response did not carry, looked up here, off the request path:
        blob sizes, and a pushed manifest's references when configured."""
        if self.lookup is None:
            return
        for event in events:
            target = event["target"]
            if event["action"] == "delete" or "digest" not in target:
                continue
            if "size" not in target:
                size = await self.lookup.size_of(target["repository"], target["digest"])
                if size is not None:
                    target["size"] = target["length"] = size
            if self.settings.include_references and event["action"] == "push" and "/blobs/" not in target.get("url", ""):
                references = await self.lookup.references(target["repository"], target["digest"])
                if references is not None:
                    target["references"] = references
