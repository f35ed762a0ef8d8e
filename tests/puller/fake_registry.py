"""A small real registry for client tests: an aiohttp server on 127.0.0.1
that serves one OCI layout read-only, and can misbehave on purpose (cut a
blob download short, send blobs chunked, answer 429/503 first, serve wrong bytes or a broken
manifest, redirect blob downloads elsewhere, demand Bearer tokens from its
own token endpoint). It runs in a thread so the CLI under test can run its
own event loop."""
from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
import threading
from dataclasses import dataclass, field
from typing import Iterator

from aiohttp import web

from ocispec.digest import Digest
from ocispec.layout import OciLayout
from tests.support.processes import free_port


@dataclass
class Behaviour:
    cut_after: int | None = None  # first blob GET: send this many bytes, then reset
    chunked_blobs: bool = False  # blob bodies in chunked transfer encoding, no Content-Length
    busy_first: int = 0  # answer this many requests with busy_status first
    busy_status: int = 503
    corrupt_blobs: bool = False  # flip bytes of every blob served
    overlong_blobs: int = 0  # send this many bytes more than every blob has
    garbage_manifest: bytes | None = None  # serve this instead of any manifest
    redirect_blobs_to: str | None = None  # base URL that blob GETs are redirected to
    bearer_token: str | None = None  # require `Authorization: Bearer <this>`
    token_credentials: tuple[str, str] | None = None  # Basic creds the token endpoint wants
    page_size: int | None = None  # paginate tag lists
    tags: list[str] = field(default_factory=list)
    requests: list[tuple[str, str, dict]] = field(default_factory=list)


def _error(code: str, status: int) -> web.Response:
    return web.json_response({"errors": [{"code": code, "message": code.lower()}]}, status=status)


class FakeRegistry:
    def __init__(self, layout: OciLayout, behaviour: Behaviour):
        self.layout, self.behaviour = layout, behaviour

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.gate])
        app.router.add_get("/token", self.token)
        app.router.add_get("/v2/", self.base)
        app.router.add_route("*", "/v2/{name:.+}/manifests/{reference}", self.manifest)
        app.router.add_get("/v2/{name:.+}/blobs/{digest}", self.blob)
        app.router.add_get("/v2/{name:.+}/tags/list", self.tags)
        app.router.add_get("/blobs/{digest}", self.blob)  # where redirects may point
        return app

    @web.middleware
    async def gate(self, request: web.Request, handler):
        behaviour = self.behaviour
        behaviour.requests.append((request.method, request.path_qs, dict(request.headers)))
        if behaviour.busy_first > 0 and request.path.startswith("/v2/") and request.path != "/v2/":
            behaviour.busy_first -= 1
            return web.Response(status=behaviour.busy_status, headers={"Retry-After": "0"})
        if behaviour.bearer_token is None or not request.path.startswith("/v2/"):
            return await handler(request)
        if request.headers.get("Authorization") == f"Bearer {behaviour.bearer_token}":
            return await handler(request)
        challenge = f'Bearer realm="{request.scheme}://{request.host}/token",service="fake"'
        response = _error("UNAUTHORIZED", 401)
        response.headers["WWW-Authenticate"] = challenge
        return response

    async def base(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def token(self, request: web.Request) -> web.Response:
        wanted = self.behaviour.token_credentials
        if wanted is not None:
            expected = "Basic " + base64.b64encode(f"{wanted[0]}:{wanted[1]}".encode()).decode()
            if request.headers.get("Authorization", "") != expected:
                return web.json_response({"details": "bad credentials"}, status=401)
        return web.json_response({"token": self.behaviour.bearer_token, "expires_in": 300})

    async def manifest(self, request: web.Request) -> web.Response:
        reference = request.match_info["reference"]
        if self.behaviour.garbage_manifest is not None:
            return web.Response(body=self.behaviour.garbage_manifest,
                                content_type="application/vnd.oci.image.manifest.v1+json")
        descriptor = self.layout.resolve(reference) if ":" not in reference else None
        digest = descriptor.digest if descriptor else (Digest.parse(reference) if ":" in reference else None)
        if digest is None or not self.layout.has_blob(digest):
            return _error("MANIFEST_UNKNOWN", 404)
        body = self.layout.read_blob(digest)
        media_type = json.loads(body).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
        return web.Response(body=body if request.method == "GET" else None,
                            headers={"Content-Type": media_type, "Docker-Content-Digest": str(digest),
                                     "Content-Length": str(len(body))})

    async def blob(self, request: web.Request) -> web.StreamResponse:
        behaviour = self.behaviour
        digest = Digest.parse(request.match_info["digest"])
        if behaviour.redirect_blobs_to and request.path.startswith("/v2/"):
            raise web.HTTPTemporaryRedirect(f"{behaviour.redirect_blobs_to}/blobs/{digest}")
        if not self.layout.has_blob(digest):
            return _error("BLOB_UNKNOWN", 404)
        data = self.layout.read_blob(digest)
        if behaviour.corrupt_blobs:
            data = bytes(b ^ 0xFF for b in data)
        data += b"\0" * behaviour.overlong_blobs
        range_header = request.headers.get("Range", "")
        start = int(range_header[6:].split("-")[0]) if range_header.startswith("bytes=") else 0
        response = web.StreamResponse(status=206 if start else 200,
                                      headers={"Docker-Content-Digest": str(digest)})
        if behaviour.chunked_blobs:
            response.enable_chunked_encoding()
        else:
            response.content_length = len(data) - start
        if start:
            response.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        await response.prepare(request)
        if behaviour.cut_after is not None and len(data) - start > behaviour.cut_after:
            cut, behaviour.cut_after = behaviour.cut_after, None
            await response.write(data[start:start + cut])
            await asyncio.sleep(0.3)  # let the client take in what was sent
            request.transport.close()  # then the connection breaks mid-body
            return response
        await response.write(data[start:])
        return response

    async def tags(self, request: web.Request) -> web.Response:
        names = self.behaviour.tags
        if request.query.get("last"):
            names = [t for t in names if t > request.query["last"]]
        size = self.behaviour.page_size or len(names) or 1
        page, headers = names[:size], {}
        if len(names) > size:
            headers["Link"] = (f'</v2/{request.match_info["name"]}/tags/list?n={size}'
                               f'&last={page[-1]}>; rel="next"')
        return web.json_response({"name": request.match_info["name"], "tags": page}, headers=headers)


@contextlib.contextmanager
def serve_app(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> Iterator[str]:
    """Run an aiohttp app in a thread on 127.0.0.1; yields its `127.0.0.1:PORT`."""
    loop = asyncio.new_event_loop()
    port = free_port()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


@contextlib.contextmanager
def serve(layout: OciLayout, behaviour: Behaviour | None = None,
          ssl_context: ssl.SSLContext | None = None) -> Iterator[str]:
    """Run the fake registry; yields its `127.0.0.1:PORT` host."""
    with serve_app(FakeRegistry(layout, behaviour or Behaviour()).app(), ssl_context) as host:
        yield host
