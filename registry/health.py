"""Health: registry:2's `health.storagedriver` check, reported at
`/debug/health` on the debug listener, and a plain `/healthz` on the main one.

The check asks the driver about the registry's root every `interval` (a
missing root is an empty registry, not a failure, as in Distribution).
After `threshold` failures in a row (0 counts as 1) the storage is
unhealthy until one check passes: `/debug/health` answers 503 with
Distribution's body, `{"storagedriver_<name>": "<error>"}`, and `/healthz`
answers 503 too, so a load balancer stops sending traffic there.

`/healthz` needs no credentials (a prober has none) and tells nothing but
"ok" or the failing check's name.
"""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from storage_backends.base import PathNotFound, StorageDriver

from .config.operations import HealthSettings
from .paths import ROOT

log = logging.getLogger("pyreg.health")
CHECK_TIMEOUT = 10.0  # a storage that hangs is as unhealthy as one that fails


class StorageHealth:
    def __init__(self, driver: StorageDriver, settings: HealthSettings):
        self.driver, self.settings = driver, settings
        self.name = f"storagedriver_{driver.name}"
        self.failures = 0
        self.error: str | None = None  # the last error, once past the threshold

    async def check_once(self) -> None:
        try:
            await asyncio.wait_for(self.driver.stat(ROOT), CHECK_TIMEOUT)
        except PathNotFound:
            pass
        except (Exception, asyncio.TimeoutError) as error:  # any failure is the answer
            self._failed(f"{type(error).__name__}: {error}".rstrip(": "))
            return
        if self.error is not None:
            log.warning("storage health check %s passes again", self.name)
        self.failures, self.error = 0, None

    def _failed(self, message: str) -> None:
        self.failures += 1
        if self.failures >= max(self.settings.storage_threshold, 1):
            if self.error is None:
                log.error("storage health check %s failed %d times: %s", self.name, self.failures, message)
            self.error = message

    async def run_forever(self) -> None:
        while True:
            await self.check_once()
            await asyncio.sleep(self.settings.storage_interval)

    async def cleanup_ctx(self, _app: web.Application):
        task = asyncio.create_task(self.run_forever())
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def errors(self) -> dict[str, str]:
        return {self.name: self.error} if self.error is not None else {}


def debug_health_handler(health: StorageHealth | None):
    """`GET /debug/health`: `{}` and 200, or the failing checks and 503."""
    async def handle(_request: web.Request) -> web.Response:
        errors = health.errors() if health is not None else {}
        return web.json_response(errors, status=503 if errors else 200)
    return handle


def healthz_handler(health: StorageHealth | None):
    async def handle(_request: web.Request) -> web.Response:
        errors = health.errors() if health is not None else {}
        if errors:
            return web.Response(status=503, text=f"unhealthy: {', '.join(errors)}\n")
        return web.Response(text="ok\n")
    return handle
