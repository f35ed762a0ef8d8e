"""registry:2's debug listener (`http.debug.addr`): `/debug/health`, and the
metrics at `http.debug.prometheus.path` when `http.debug.prometheus.enabled`.

It is meant for an internal network (a prober, a Prometheus server), so it
serves no registry API and takes no credentials. With several workers each
binds the address with SO_REUSEPORT, as they do the main one; any of them
answers with every worker's metrics merged (registry/metrics.py).
"""
from __future__ import annotations

from aiohttp import web

from .config import HttpSettings, RegistryConfig
from .health import StorageHealth, debug_health_handler


def debug_app(config: RegistryConfig, health: StorageHealth | None, metrics) -> web.Application:
    app = web.Application()
    app.router.add_get("/debug/health", debug_health_handler(health))
    if metrics is not None and config.debug.prometheus:
        app.router.add_get(config.debug.prometheus_path or "/metrics", metrics.handler)
    return app


def debug_listener(config: RegistryConfig, health: StorageHealth | None, metrics):
    """For the main app's `cleanup_ctx`: the debug site lives as long as it."""
    async def lifetime(_app: web.Application):
        from .sockets import bind_socket
        runner = web.AppRunner(debug_app(config, health, metrics), handle_signals=False, access_log=None)
        await runner.setup()
        try:
            await web.SockSite(runner, bind_socket(HttpSettings(addr=config.debug.addr))).start()
            yield
        finally:
            await runner.cleanup()
    return lifetime
