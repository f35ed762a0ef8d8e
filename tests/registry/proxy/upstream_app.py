"""A small upstream registry for the proxy's tests, served by a real aiohttp
server on 127.0.0.1: it answers manifests, blobs and tags from a dict,
counts every request, and can misbehave on demand (lie about a blob's
bytes, send slowly, rate-limit, be down, ask for Basic or Bearer auth).
It is the upstream the proxy is tested against, not the proxy itself."""
from __future__ import annotations

import asyncio
import base64
import collections
import json
import os
import secrets
from dataclasses import dataclass, field

from aiohttp import web

from ocispec import mediatypes as mt
from tests.registry.seed import image_manifest, sha256


@dataclass
class Image:
    repo: str
    tag: str
    config: bytes
    layers: list[bytes]
    manifest: bytes = b""

    def __post_init__(self):
        self.manifest = image_manifest(self.config, self.layers)

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    def blobs(self) -> dict[str, bytes]:
        return {sha256(data): data for data in [self.config, *self.layers]}


def random_image(repo: str = "library/app", tag: str = "v1", sizes=(2 << 20, 4096)) -> Image:
    config = json.dumps({"architecture": "amd64", "os": "linux", "nonce": os.urandom(4).hex()}).encode()
    return Image(repo, tag, config, [os.urandom(size) for size in sizes])


@dataclass
class Upstream:
    """What the fake serves and how it behaves; tests change it as they go."""
    manifests: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (repo, ref) -> raw
    blobs: dict[str, bytes] = field(default_factory=dict)
    requests: collections.Counter = field(default_factory=collections.Counter)  # (method, path)
    lies: set[str] = field(default_factory=set)  # digests served with one byte flipped
    chunk_delay: float = 0.0                     # seconds between 64 KiB chunks of a blob
    status: int | None = None                    # answer every /v2/ request with this
    stall: float = 0.0                           # seconds before answering a /v2/ request
    auth: str | None = None                      # "basic" or "bearer"
    user: tuple[str, str] = ("proxy", "s3cret")
    tokens: set[str] = field(default_factory=set)

    def add(self, image: Image) -> None:
        self.manifests[(image.repo, image.tag)] = image.manifest
        self.manifests[(image.repo, image.digest)] = image.manifest
        self.blobs.update(image.blobs())

    def count(self, method: str, path_end: str) -> int:
        return sum(n for (m, path), n in self.requests.items() if m == method and path.endswith(path_end))


def make_upstream_app(state: Upstream) -> web.Application:
    app = web.Application()

    @web.middleware
    async def behave(request: web.Request, handler):
        state.requests[(request.method, request.path)] += 1
        if request.path == "/token":
            return await handler(request)
        if state.stall:
            await asyncio.sleep(state.stall)
        if state.status is not None:
            headers = {"Retry-After": "7"} if state.status == 429 else {}
            return web.json_response({"errors": [{"code": "X", "message": "no"}]},
                                     status=state.status, headers=headers)
        if not _authorized(state, request):
            return web.json_response({"errors": [{"code": "UNAUTHORIZED", "message": "auth"}]}, status=401,
                                     headers={"WWW-Authenticate": _challenge(state, request)})
        return await handler(request)

    app.middlewares.append(behave)
    app.router.add_get("/token", lambda request: _token(state, request))
    app.router.add_get("/v2/", lambda request: web.json_response({}))
    app.router.add_route("*", "/v2/{name:.+}/manifests/{ref}", lambda request: _manifest(state, request))
    app.router.add_route("*", "/v2/{name:.+}/blobs/{digest}", lambda request: _blob(state, request))
    app.router.add_get("/v2/{name:.+}/tags/list", lambda request: _tags(state, request))
    return app


def _challenge(state: Upstream, request: web.Request) -> str:
    if state.auth == "basic":
        return 'Basic realm="upstream"'
    realm = f"http://{request.host}/token"
    return f'Bearer realm="{realm}",service="upstream",scope="repository:x:pull"'


def _basic_ok(state: Upstream, header: str) -> bool:
    expected = base64.b64encode(":".join(state.user).encode()).decode()
    return header == f"Basic {expected}"


def _authorized(state: Upstream, request: web.Request) -> bool:
    header = request.headers.get("Authorization", "")
    if state.auth is None:
        return True
    if state.auth == "basic":
        return _basic_ok(state, header)
    return header.startswith("Bearer ") and header[7:] in state.tokens


async def _token(state: Upstream, request: web.Request) -> web.Response:
    if not _basic_ok(state, request.headers.get("Authorization", "")):
        return web.json_response({"errors": []}, status=401)
    token = secrets.token_hex(8)
    state.tokens.add(token)
    return web.json_response({"token": token, "expires_in": 300})


async def _manifest(state: Upstream, request: web.Request) -> web.Response:
    raw = state.manifests.get((request.match_info["name"], request.match_info["ref"]))
    if raw is None:
        return web.json_response({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "?"}]}, status=404)
    headers = {"Docker-Content-Digest": sha256(raw), "Content-Type": mt.OCI_MANIFEST}
    if request.method == "HEAD":
        return web.Response(headers={**headers, "Content-Length": str(len(raw))})
    return web.Response(body=raw, headers=headers)


async def _blob(state: Upstream, request: web.Request) -> web.StreamResponse:
    digest = request.match_info["digest"]
    data = state.blobs.get(digest)
    if data is None:
        return web.json_response({"errors": [{"code": "BLOB_UNKNOWN", "message": "?"}]}, status=404)
    if request.method == "HEAD":
        return web.Response(headers={"Content-Length": str(len(data)), "Docker-Content-Digest": digest})
    if digest in state.lies:
        data = data[:-1] + bytes([data[-1] ^ 1])
    response = web.StreamResponse(headers={"Docker-Content-Digest": digest})
    response.content_length = len(data)
    await response.prepare(request)
    for start in range(0, len(data), 64 * 1024):
        await response.write(data[start:start + 64 * 1024])
        if state.chunk_delay:
            await asyncio.sleep(state.chunk_delay)
    await response.write_eof()
    return response


async def _tags(state: Upstream, request: web.Request) -> web.Response:
    name = request.match_info["name"]
    tags = sorted({ref for repo, ref in state.manifests if repo == name and ":" not in ref})
    if not tags:
        return web.json_response({"errors": [{"code": "NAME_UNKNOWN", "message": "?"}]}, status=404)
    return web.json_response({"name": name, "tags": tags})
