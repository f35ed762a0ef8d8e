"""`make_app(config)`: the registry as an aiohttp application.

aiohttp tries routes in registration order, so the hot ones (manifests,
blobs) come first. Repository names contain slashes, but no two routes can
match one path: a digest, tag or upload id never contains '/', and each
route ends in its own fixed words.
"""
from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from storage_backends.base import StorageDriver

from .config import RegistryConfig
from .handlers import base, blobs, catalog, manifests, referrers, tags, uploads
from .keys import CONFIG, STORE
from .maintenance import purge_forever
from .middlewares import errors_middleware
from .store import RegistryStore


def open_driver(config: RegistryConfig) -> StorageDriver:
    from storage_backends.factory import make_driver
    return make_driver({**config.storage, "redirect": {"disable": config.redirect_disabled}})


def make_app(config: RegistryConfig | None = None, driver: StorageDriver | None = None) -> web.Application:
    """The registry over `driver`, or over the storage the config names."""
    config = config or RegistryConfig()
    driver = driver or open_driver(config)
    # Bodies are streamed by the handlers; this only caps what aiohttp itself
    # would read whole (none of our routes do).
    app = web.Application(middlewares=[errors_middleware], client_max_size=8 * 1024 * 1024)
    app[CONFIG] = config
    app[STORE] = RegistryStore(driver)
    for module in (base, manifests, blobs, uploads, tags, referrers, catalog):
        module.add_routes(app.router)
    app.cleanup_ctx.append(_background(config, app[STORE]))
    return app


def _background(config: RegistryConfig, store: RegistryStore):
    """Upload purging while the app runs; the driver is closed after."""
    async def lifetime(_app: web.Application):
        task = None
        if config.upload_purging.enabled:
            task = asyncio.create_task(purge_forever(store, config.upload_purging))
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await store.driver.close()
    return lifetime
