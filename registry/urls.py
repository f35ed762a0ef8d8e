"""How the registry writes the URLs it hands out (`Location`, `Link`):
under `http.prefix`, and absolute, from `http.host` or else from the request
(X-Forwarded-Proto/-Host first, as Distribution does behind a proxy), unless
`http.relativeurls` says relative. pyreg's default, with neither key set, is
relative: every client resolves a path against the URL it asked."""
from __future__ import annotations

from aiohttp import web

from .config import HttpSettings


class UrlBuilder:
    def __init__(self, http: HttpSettings):
        self.prefix = http.prefix
        self.host = http.host
        self.relative = http.relative_urls if http.relative_urls is not None else http.host is None

    def url(self, request: web.Request, path: str) -> str:
        """`path` ("/v2/...") as the client should be sent to it."""
        path = self.prefix + path
        if self.relative:
            return path
        return (self.host or _request_base(request)) + path


def _request_base(request: web.Request) -> str:
    scheme = _first(request.headers.get("X-Forwarded-Proto")) or request.scheme
    host = _first(request.headers.get("X-Forwarded-Host")) or request.host
    return f"{scheme}://{host}"


def _first(header: str | None) -> str:
    return (header or "").split(",")[0].strip()
