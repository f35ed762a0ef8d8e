"""`make_app(config)`: the registry as an aiohttp application.

aiohttp tries routes in registration order, so the hot ones (manifests,
blobs) come first. Repository names contain slashes, but no two routes can
match one path: a digest, tag or upload id never contains '/', and each
route ends in its own fixed words. With `http.prefix` the API is a sub-app
under the prefix, and the outer app answers everything else with a 404.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from aiohttp import web

from storage_backends.base import StorageDriver
from storage_backends.factory import make_driver

from .config import RegistryConfig
from .handlers import base, blobs, catalog, manifests, referrers, repositories, tags, uploads, usage
from .keys import CONFIG, STORE, URLS
from .gc.freshness import timing_of
from .gc.schedule import collect_forever
from .maintenance import purge_forever
from .middlewares import errors_middleware, extra_headers, read_only_middleware
from .operations import Operations
from .proxy import mount_proxy
from .store import RegistryStore
from .urls import UrlBuilder

if TYPE_CHECKING:
    from .access import Access

# Bodies are streamed by the handlers; this only caps what aiohttp itself
# would read whole (none of our routes do).
CLIENT_MAX_SIZE = 8 * 1024 * 1024


def make_app(config: RegistryConfig | None = None, driver: StorageDriver | None = None,
             sweep_at_start: bool = False, access: Access | None = None) -> web.Application:
    """The registry over `driver`, or over the storage the config names;
    `sweep_at_start` runs a purge pass as soon as it starts (one worker's job).
    Access control is the config's, unless `access` is given ready-made."""
    config = config or RegistryConfig()
    driver = driver or make_driver(config.storage)
    ops = Operations(config)  # metrics, notifications, health, request ids: registry/operations.py
    api = web.Application(client_max_size=CLIENT_MAX_SIZE)
    api[CONFIG] = config
    api[STORE] = RegistryStore(ops.instrument(driver), writable=not config.read_only,
                               gc_timing=timing_of(config.gc))
    api[URLS] = UrlBuilder(config.http)
    for module in (base, manifests, blobs, uploads, tags, referrers, catalog, usage, repositories):
        module.add_routes(api.router)
    api.cleanup_ctx.append(_background(config, api[STORE], sweep_at_start))
    outer = api
    if config.http.prefix:
        outer = web.Application(client_max_size=CLIENT_MAX_SIZE)
        outer.add_subapp(config.http.prefix, api)
    outer.middlewares.append(errors_middleware)
    _mount_access(outer, config, driver, access)
    if config.read_only:
        outer.middlewares.append(read_only_middleware)
    mount_proxy(outer, config, api[STORE])
    if config.http.headers:
        outer.on_response_prepare.append(extra_headers(config.http.headers))
    ops.mount(outer, api, api[STORE])
    return outer


def _mount_access(app: web.Application, config: RegistryConfig, driver: StorageDriver,
                  access: Access | None) -> None:
    """Imported only when configured: registry.auth loads `cryptography`,
    about 120 ms of every start-up otherwise (python -X importtime)."""
    if access is None and config.auth is None and config.token_server is None:
        return
    from .access import build_access, mount_access
    access = access or build_access(config, driver)
    if access is not None:
        mount_access(app, access)


def _background(config: RegistryConfig, store: RegistryStore, sweep_at_start: bool):
    """Purging and garbage collection while the app runs (never in read-only
    mode); the driver is closed after."""
    async def lifetime(_app: web.Application):
        tasks = []
        if config.upload_purging.enabled and not config.read_only:
            tasks.append(asyncio.create_task(purge_forever(store, config.upload_purging, sweep_at_start)))
        if config.gc.enabled and not config.read_only:
            tasks.append(asyncio.create_task(collect_forever(store.driver, config.gc)))
        yield
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await store.driver.close()
    return lifetime
