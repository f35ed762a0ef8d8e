"""Prometheus metrics for the registry, exposed with `prometheus_client`
(the exposition format is its job, not ours):

    pyreg_http_requests_total{route,method,status}
    pyreg_http_request_duration_seconds{route,method}        histogram
    pyreg_http_request_bytes_total{route}                     bytes received
    pyreg_http_response_bytes_total{route}                    bytes sent
    pyreg_uploads_in_progress                                 bodies being streamed into uploads
    pyreg_storage_operation_duration_seconds{driver,operation}
    pyreg_storage_operation_errors_total{driver,operation}   not-found is an answer, not an error
    pyreg_cache_lookups_total{cache,result}                   result: hit or miss

Routes are labelled by kind (manifest, blob, upload session...), never by
repository, so the number of series stays fixed. Each RegistryMetrics has
its own CollectorRegistry: several apps in one process (tests) do not mix.
With `--workers N` each process counts its own requests into
prometheus_client's multiprocess files, in a directory `pyreg serve` makes
(registry/serving_operations.py) and removes; a scrape of any worker merges them
all. The variable must be set before prometheus_client is imported, which
is why `registry.operations` imports this module only when metrics are on.
"""
from __future__ import annotations

import os
import time
from typing import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from storage_backends.base import BlobWriter, FileInfo, PathNotFound, StorageDriver

from .auth.scopes import RouteKind, route_kind
from .config.operations import MULTIPROC_VARIABLE

_METHODS = {"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"}
_UPLOAD_BODIES = {(RouteKind.UPLOAD, "PATCH"), (RouteKind.UPLOAD, "PUT"), (RouteKind.UPLOAD_START, "POST")}
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def _kind(request: web.Request) -> RouteKind:
    resource = request.match_info.route.resource
    return route_kind(resource.canonical) if resource is not None else RouteKind.OTHER


class _Children:
    """A metric's labelled children, memoised: prometheus_client's labels()
    validates and locks on every call (2.5 to 8 us measured here, most of
    what metrics cost a request), a dict lookup takes 0.1. The label sets
    are few and fixed: route kinds, methods, statuses, driver calls."""

    def __init__(self, metric):
        self.metric, self.known = metric, {}

    def __call__(self, *values: str):
        child = self.known.get(values)
        if child is None:
            child = self.known[values] = self.metric.labels(*values)
        return child


class RegistryMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        kw = {"registry": self.registry}
        self.requests = Counter("pyreg_http_requests", "HTTP requests answered", ["route", "method", "status"], **kw)
        self.latency = Histogram("pyreg_http_request_duration_seconds", "Time to answer, body included",
                                 ["route", "method"], buckets=_LATENCY_BUCKETS, **kw)
        self.bytes_in = Counter("pyreg_http_request_bytes", "Request body bytes received", ["route"], **kw)
        self.bytes_out = Counter("pyreg_http_response_bytes", "Response body bytes sent", ["route"], **kw)
        self.uploads = Gauge("pyreg_uploads_in_progress", "Request bodies being streamed into uploads",
                             multiprocess_mode="livesum", **kw)
        self.storage_latency = Histogram("pyreg_storage_operation_duration_seconds", "Storage driver calls",
                                         ["driver", "operation"], buckets=_LATENCY_BUCKETS, **kw)
        self.storage_errors = Counter("pyreg_storage_operation_errors", "Storage driver calls that failed",
                                      ["driver", "operation"], **kw)
        self.cache = Counter("pyreg_cache_lookups", "Cache lookups", ["cache", "result"], **kw)
        self.children = {name: _Children(getattr(self, name)) for name in (
            "requests", "latency", "bytes_in", "bytes_out", "storage_latency", "storage_errors", "cache")}

    def cache_lookup(self, cache: str, hit: bool) -> None:
        self.children["cache"](cache, "hit" if hit else "miss").inc()

    async def handler(self, request: web.Request) -> web.Response:
        """`GET /metrics`: this process's metrics, or every worker's merged."""
        registry = self.registry
        if os.environ.get(MULTIPROC_VARIABLE):
            from prometheus_client import multiprocess
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    def install(self, app: web.Application, path: str | None = "/metrics") -> None:
        """The middleware (outermost), the bytes-out hook and the scrape
        route (none when `path` is None: scraped elsewhere)."""
        app.middlewares.insert(0, self.middleware())
        app.on_response_prepare.append(self.on_prepare)
        if path is not None:
            app.router.add_get(path, self.handler)

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Bytes out, counted as the headers go: a file sent with sendfile
        leaves the middleware before its body, but not before this."""
        if request.method != "HEAD":
            self.children["bytes_out"](_kind(request).value).inc(response.content_length or 0)

    def middleware(self):
        """Outermost, so it sees the statuses the errors middleware renders.
        The time is the handler's: a file's sendfile transfer comes after."""
        @web.middleware
        async def measure(request: web.Request, handler):
            kind, started = _kind(request), time.perf_counter()
            method = request.method if request.method in _METHODS else "OTHER"
            streaming = (kind, request.method) in _UPLOAD_BODIES
            status = "aborted"
            if streaming:
                self.uploads.inc()
            try:
                response = await handler(request)
                status = str(response.status)
                return response
            except web.HTTPException as exc:
                status = str(exc.status)
                raise
            finally:
                if streaming:
                    self.uploads.dec()
                self.children["bytes_in"](kind.value).inc(request.content.total_bytes)
                self.children["requests"](kind.value, method, status).inc()
                self.children["latency"](kind.value, method).observe(time.perf_counter() - started)
        return measure

    def instrument(self, driver: StorageDriver) -> StorageDriver:
        return InstrumentedDriver(driver, self)


class _Timed:
    def __init__(self, metrics: RegistryMetrics, driver: str, operation: str):
        self.metrics, self.labels = metrics, (driver, operation)

    def __enter__(self):
        self.started = time.perf_counter()

    def __exit__(self, kind, error, _traceback):
        self.metrics.children["storage_latency"](*self.labels).observe(time.perf_counter() - self.started)
        if error is not None and not isinstance(error, PathNotFound):
            self.metrics.children["storage_errors"](*self.labels).inc()
        return False


class InstrumentedDriver(StorageDriver):
    """A driver that times every call of the one it wraps; anything else
    (a backend's own extras) is passed through untouched."""

    def __init__(self, inner: StorageDriver, metrics: RegistryMetrics):
        self.inner, self.metrics = inner, metrics

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def appends_in_place(self) -> bool:
        return self.inner.appends_in_place

    @property
    def directory_walks_are_slow(self) -> bool:
        return self.inner.directory_walks_are_slow

    def __getattr__(self, attribute: str):
        return getattr(self.inner, attribute)

    def _timed(self, operation: str) -> _Timed:
        return _Timed(self.metrics, self.inner.name, operation)

    async def get_content(self, key: str) -> bytes:
        with self._timed("get_content"):
            return await self.inner.get_content(key)

    async def put_content(self, key: str, data: bytes) -> None:
        with self._timed("put_content"):
            await self.inner.put_content(key, data)

    async def read_stream(self, key: str, offset: int = 0, length: int | None = None,
                          chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        with self._timed("read_stream"):  # the whole stream, as the client waits for it
            async for chunk in self.inner.read_stream(key, offset, length, chunk_size):
                yield chunk

    async def writer(self, key: str, append: bool = False) -> BlobWriter:
        with self._timed("writer"):
            return await self.inner.writer(key, append)

    async def stat(self, key: str) -> FileInfo:
        with self._timed("stat"):
            return await self.inner.stat(key)

    async def list(self, prefix: str) -> list[str]:
        with self._timed("list"):
            return await self.inner.list(prefix)

    async def create_exclusive(self, key: str, data: bytes) -> bool:
        with self._timed("create_exclusive"):
            return await self.inner.create_exclusive(key, data)

    async def list_after(self, prefix: str, after: str = "", count: int = 1000) -> list[str]:
        with self._timed("list_after"):
            return await self.inner.list_after(prefix, after, count)

    async def move(self, source: str, dest: str) -> None:
        with self._timed("move"):
            await self.inner.move(source, dest)

    async def delete(self, key: str) -> None:
        with self._timed("delete"):
            await self.inner.delete(key)

    def local_path(self, key: str) -> str | None:
        return self.inner.local_path(key)

    async def redirect_url(self, key: str, method: str = "GET") -> str | None:
        return await self.inner.redirect_url(key, method)

    async def close(self) -> None:
        await self.inner.close()
