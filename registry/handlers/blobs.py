"""`/v2/<name>/blobs/<digest>`: GET, HEAD and DELETE of a blob.

A GET is served by sendfile when the backend has a local file, by a
redirect when it offers one, and otherwise streamed; small blobs come from
memory (or one inline read), much faster than any of those for a few KiB.
"""
from __future__ import annotations

from aiohttp import web

from ocispec.digest import Digest
from ocispec.errors import ErrorCode, OciError

from ..middlewares import API_VERSION_HEADER
from ..store.blobs import SMALL_BLOB_LIMIT
from .params import config_of, path_digest, repo_name, store_of
from .ranges import RangeNotSatisfiable, parse_range



def _headers(digest: Digest) -> dict[str, str]:
    return {**API_VERSION_HEADER, "Docker-Content-Digest": str(digest),
            "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream",
            "Cache-Control": "max-age=31536000"}


async def head_blob(request: web.Request) -> web.Response:
    name, digest = repo_name(request), path_digest(request)
    size = await store_of(request).blobs.size_in(name, digest)
    headers = {**_headers(digest), "Content-Length": str(size), "ETag": f'"{digest}"'}
    return web.Response(headers=headers)


async def get_blob(request: web.Request) -> web.StreamResponse:
    name, digest = repo_name(request), path_digest(request)
    blobs = store_of(request).blobs
    size = await blobs.size_in(name, digest)
    headers = _headers(digest)
    try:
        span = parse_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    if span is None and size <= SMALL_BLOB_LIMIT:
        data = await blobs.read_cached(digest, size)
        if data is not None:
            return web.Response(body=data, headers={**headers, "ETag": f'"{digest}"'})
    url = await blobs.redirect_url(digest, "GET")  # a driver built with storage.redirect
    if url is not None:
        raise web.HTTPTemporaryRedirect(url, headers=headers)
    path = blobs.local_path(digest)
    # FileResponse applies a Range itself: give it only ones checked above.
    if path is not None and (span is not None or "Range" not in request.headers):
        return web.FileResponse(path, headers=headers)
    return await _stream(request, digest, size, headers, span)


async def _stream(request: web.Request, digest: Digest, size: int, headers: dict[str, str],
                  span: tuple[int, int] | None) -> web.StreamResponse:
    start, end = span if span is not None else (0, size - 1)
    response = web.StreamResponse(status=206 if span else 200, headers=headers)
    if span is not None:
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    response.content_length = end - start + 1
    await response.prepare(request)
    async for chunk in store_of(request).blobs.read_stream(digest, start, end - start + 1):
        await response.write(chunk)
    await response.write_eof()
    return response


async def delete_blob(request: web.Request) -> web.Response:
    name, digest = repo_name(request), path_digest(request)
    if not config_of(request).delete_enabled:
        raise OciError(ErrorCode.UNSUPPORTED, "deletes are disabled on this registry")
    if not await store_of(request).blobs.unlink(name, digest):
        raise OciError(ErrorCode.BLOB_UNKNOWN, detail={"digest": str(digest)})
    return web.Response(status=202, headers={**API_VERSION_HEADER, "Docker-Content-Digest": str(digest)})


def add_routes(router: web.UrlDispatcher) -> None:
    path = "/v2/{name:[^{}]+}/blobs/{digest}"
    router.add_route("HEAD", path, head_blob)
    router.add_route("GET", path, get_blob)
    router.add_route("DELETE", path, delete_blob)
