"""An HTTP proxy on 127.0.0.1 in front of another server (moto's S3) that
answers 503 to the next N requests when told to, as a bucket under load
does (S3's `SlowDown`); everything else is passed through, streamed.

    with flaky_proxy(s3.url) as proxy:       # proxy.url goes into the config
        proxy.fail_next(2, methods={"PUT"})  # the next two PUTs get 503
        ...
        assert proxy.failed == 2

It runs its own event loop in a thread, so a test may block (waiting for a
process) without stalling it.
"""
from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Iterator

import aiohttp
from aiohttp import web

from tests.support.processes import free_port

SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message></Error>")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}


class FlakyProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.url = ""
        self.failed = 0          # 503s answered so far
        self.passed = 0          # requests passed through
        self._to_fail = 0
        self._methods: set[str] | None = None
        self._lock = threading.Lock()

    def fail_next(self, count: int, methods: set[str] | None = None) -> None:
        """Answer 503 to the next `count` requests (of `methods`, or any)."""
        with self._lock:
            self._to_fail, self._methods = count, methods

    def _should_fail(self, method: str) -> bool:
        with self._lock:
            if self._to_fail > 0 and (self._methods is None or method in self._methods):
                self._to_fail -= 1
                self.failed += 1
                return True
            return False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self._should_fail(request.method):
            await request.read()  # the body was sent; S3 reads it before refusing
            return web.Response(status=503, body=SLOW_DOWN, content_type="application/xml")
        self.passed += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = request.content if request.body_exists else None
        async with self.session.request(request.method, self.upstream + request.path_qs, headers=headers,
                                        data=body, allow_redirects=False, auto_decompress=False) as upstream:
            response = web.StreamResponse(status=upstream.status, headers={
                k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP})
            await response.prepare(request)
            async for chunk in upstream.content.iter_chunked(1 << 16):
                await response.write(chunk)
            await response.write_eof()
            return response

    async def _serve(self, started: threading.Event, stop: asyncio.Event, port: int) -> None:
        self.session = aiohttp.ClientSession()
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{path:.*}", self.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        started.set()
        await stop.wait()
        await runner.cleanup()
        await self.session.close()


@contextlib.contextmanager
def flaky_proxy(upstream: str) -> Iterator[FlakyProxy]:
    proxy, port = FlakyProxy(upstream), free_port()
    proxy.url = f"http://127.0.0.1:{port}"
    loop, started = asyncio.new_event_loop(), threading.Event()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(proxy._serve(started, stop, port),),
                              daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the flaky proxy did not start")
    try:
        yield proxy
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
