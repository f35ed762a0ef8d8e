"""A webhook receiver on 127.0.0.1 that records what it is sent and can be told
to fail or hang, and the registry app with notifications mounted on it."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from registry.app import make_app
from registry.config import RegistryConfig
from registry.events import Notifier, StoreLookup, events_middleware, parse_notifications
from registry.keys import STORE
from storage_backends.memory import MemoryDriver


@dataclass
class Receiver:
    mode: str = "ok"  # "ok", "fail" (500), "hang"
    envelopes: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    attempts: list[float] = field(default_factory=list)
    url: str = ""

    @property
    def events(self) -> list[dict]:
        return [event for envelope in self.envelopes for event in envelope["events"]]

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts.append(asyncio.get_running_loop().time())
        if self.mode == "hang":
            await asyncio.Event().wait()
        if self.mode == "fail":
            return web.Response(status=500)
        self.headers.append(dict(request.headers))
        self.envelopes.append(json.loads(await request.read()))
        return web.Response(status=200)


@pytest.fixture
async def receiver(aiohttp_server) -> Receiver:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/events", receiver.handle)
    server = await aiohttp_server(app)
    receiver.url = str(server.make_url("/events"))
    return receiver


def notifications(url: str, events: dict | None = None, **endpoint) -> dict:
    """A `notifications` section with one endpoint (short timeout and backoff)."""
    section = {"endpoints": [{"name": "listener", "url": url, "timeout": "300ms", "backoff": "100ms",
                              **endpoint}]}
    return {**section, "events": events} if events else section


async def registry_with_events(aiohttp_client, section: dict, queue_dir, driver=None):
    """The registry app with the events middleware and the notifier in its lifetime."""
    app = make_app(RegistryConfig(), driver or MemoryDriver())
    notifier = Notifier(parse_notifications(section), str(queue_dir), "registry.test:5000",
                        StoreLookup(app[STORE]))
    app.middlewares.append(events_middleware(notifier))
    app.cleanup_ctx.append(notifier.cleanup_ctx)
    return await aiohttp_client(app), notifier


async def eventually(predicate, timeout: float = 20.0, step: float = 0.02):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(step)
