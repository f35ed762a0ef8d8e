"""What the served registry has beside the API, each piece only when configured:

    request ids      always: X-Request-Id on every answer (registry/request_ids.py)
    /healthz         always: a plain probe, reporting the storage check when it runs
    metrics          pyreg.metrics.enabled (/metrics here) or http.debug.prometheus.enabled
    notifications    notifications.endpoints (registry/events/)
    storage health   health.storagedriver.enabled (registry/health.py)
    debug listener   http.debug.addr (registry/debug_listener.py)
    tracing          pyreg.tracing.enabled (registry/tracing.py)

    ops = Operations(config)                  # before the store: metrics time the driver
    store = RegistryStore(ops.instrument(driver), ...)
    ops.mount(outer, api, store)

Modules are imported only when their piece is on: prometheus_client and the
notifier cost start-up time that a registry without them should not pay.
"""
from __future__ import annotations

import os
import socket

from aiohttp import web

from storage_backends.base import StorageDriver

from .config import RegistryConfig
from .paths import EVENTS
from .request_ids import echo_request_id
from .store import RegistryStore


class Operations:
    def __init__(self, config: RegistryConfig):
        self.config = config
        self.metrics = None
        if config.ops.wants_metrics(config.debug):
            from .metrics import RegistryMetrics
            self.metrics = RegistryMetrics()

    def instrument(self, driver: StorageDriver) -> StorageDriver:
        return self.metrics.instrument(driver) if self.metrics is not None else driver

    def mount(self, outer: web.Application, api: web.Application, store: RegistryStore) -> None:
        """Middlewares and probes on `outer`; background work in `api`'s
        lifetime, which ends before the driver is closed."""
        config, health = self.config, None
        outer.on_response_prepare.append(echo_request_id)
        if config.ops.tracing:
            from .tracing import tracing_middleware
            outer.middlewares.insert(0, tracing_middleware())
        if self.metrics is not None:
            self.metrics.install(outer, "/metrics" if config.ops.metrics else None)
        if config.notifications.endpoints:
            self._mount_notifier(outer, api, store)
        if config.health.storage_enabled:
            from .health import StorageHealth
            health = StorageHealth(store.driver, config.health)
            api.cleanup_ctx.append(health.cleanup_ctx)
        from .health import healthz_handler
        outer.router.add_get("/healthz", healthz_handler(health))
        if config.debug.addr is not None:
            from .debug_listener import debug_listener
            api.cleanup_ctx.append(debug_listener(config, health, self.metrics))

    def _mount_notifier(self, outer: web.Application, api: web.Application, store: RegistryStore) -> None:
        from .events import Notifier, StoreLookup, events_middleware
        host, port = self.config.http.host_port
        notifier = Notifier(self.config.notifications, events_directory(self.config, store.driver),
                            f"{socket.gethostname()}:{port}", StoreLookup(store),
                            queue_limit=self.config.ops.events_limit)
        outer.middlewares.append(events_middleware(notifier))  # innermost: after auth, on answers only
        api.cleanup_ctx.append(notifier.cleanup_ctx)


def events_directory(config: RegistryConfig, driver: StorageDriver) -> str:
    """Where undelivered events wait: the configured directory; beside the
    registry's data on filesystem storage; else this host's state directory
    (a bucket is no place for a queue each host drains on its own)."""
    if config.ops.events_dir:
        return config.ops.events_dir
    local = driver.local_path(EVENTS)
    if local is not None:
        return local
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "pyreg", "events")
