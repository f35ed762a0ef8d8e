"""Stopping gracefully (`http.draintimeout`): on SIGTERM the registry stops
accepting, closes idle connections, and lets the requests in flight finish,
up to the drain time, before it closes the rest.

aiohttp's own graceful shutdown cannot do this for uploads: once it starts,
its connections drop the bytes that still arrive, so a PATCH in flight can
never complete. So the registry tracks its handlers itself and lets aiohttp
shut down only when they are done (or the time is up); aiohttp then waits
out the responses still being written, for what remains of the drain time.
"""
from __future__ import annotations

import asyncio
import contextlib
import signal

from aiohttp import web

NO_DRAIN = 0.01  # aiohttp reads a shutdown timeout of 0 as "wait forever"


class InFlight:
    """Handlers running, by connection."""

    def __init__(self) -> None:
        self._busy: dict[object, int] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        connection = request.protocol
        self._busy[connection] = self._busy.get(connection, 0) + 1
        self._idle.clear()
        try:
            return await handler(request)
        finally:
            left = self._busy.pop(connection) - 1
            if left:
                self._busy[connection] = left
            elif not self._busy:
                self._idle.set()

    async def drain(self, server: web.Server, timeout: float) -> None:
        """Close idle connections, end the others after their current
        request, and wait for the handlers, up to `timeout` seconds."""
        for connection in server.connections:
            if connection in self._busy:
                connection.keep_alive(False)
            else:
                connection.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)


async def serve_until_stopped(app: web.Application, site_factory, drain: float, **runner_options) -> None:
    """Run `app` on the site `site_factory(runner)` makes until SIGTERM or SIGINT."""
    in_flight = InFlight()
    if drain:  # a middleware costs every request a little: only when there is a drain to track
        app.middlewares.insert(0, in_flight.middleware)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=drain or NO_DRAIN, **runner_options)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        site = site_factory(runner)
        await site.start()
        await stop.wait()
        began = loop.time()
        await site.stop()  # the listening socket closes: new connections are refused
        if drain:
            await in_flight.drain(runner.server, drain)
            # aiohttp takes its timeout only in the constructor; what is left of
            # the drain goes to the responses still being written.
            runner._shutdown_timeout = max(drain - (loop.time() - began), NO_DRAIN)
    finally:
        await runner.cleanup()
