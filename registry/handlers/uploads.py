"""`/v2/<name>/blobs/uploads/`: starting, chunking, finishing and cancelling
blob uploads, plus cross-repository mounts.

Bodies are streamed chunk by chunk into the upload's storage key; nothing
is buffered whole.
"""
from __future__ import annotations

import contextlib
import functools

from aiohttp import web

from ocispec.digest import Digest
from ocispec.errors import OciError
from ocispec.reference import validate_name

from ..auth.caller import grant_of, may_pull, subject_of
from ..middlewares import API_VERSION_HEADER
from .params import (blob_location, body_chunks, config_of, content_range, query_digest,
                     repo_name, store_of, upload_id, upload_location)


def _session_headers(request: web.Request, name: str, upload: str, size: int) -> dict[str, str]:
    return {"Location": upload_location(request, name, upload), "Range": f"0-{max(size - 1, 0)}",
            "Docker-Upload-UUID": upload}


def _progress(request: web.Request, name: str, upload: str, size: int, status: int) -> web.Response:
    return web.Response(status=status, headers={
        **API_VERSION_HEADER, **_session_headers(request, name, upload, size), "Content-Length": "0"})


def _created(request: web.Request, name: str, digest: Digest) -> web.Response:
    return web.Response(status=201, headers={
        **API_VERSION_HEADER, "Location": blob_location(request, name, digest),
        "Docker-Content-Digest": str(digest), "Content-Length": "0"})


async def start_upload(request: web.Request) -> web.Response:
    name = repo_name(request)
    store = store_of(request)
    if "mount" in request.query:
        mounted = await _try_mount(request, name)
        if mounted is not None:
            return _created(request, name, mounted)
    if "digest" in request.query:
        return await _monolithic(request, name, query_digest(request, "digest"))
    upload = await store.uploads.start(name)
    await store.upload_owners.record(name, upload, subject_of(request))
    return _progress(request, name, upload, 0, 202)


async def _try_mount(request: web.Request, name: str) -> Digest | None:
    """Link a blob that another repository holds into `name`: the one named
    by `from`, or, without `from` and with `pyreg.mount.automatic`, any
    repository that links it (the spec's automatic content discovery), only
    ever from a repository the caller may pull. When the blob is not found,
    or not readable, the client gets an ordinary upload session, as the spec
    allows: the same answer either way, so a mount cannot tell a caller
    that a blob it may not read exists."""
    digest = query_digest(request, "mount")
    source = request.query.get("from")
    blobs = store_of(request).blobs
    if source:
        source = validate_name(source)
        found = may_pull(request, source) and await blobs.is_linked(source, digest)
    elif config_of(request).automatic_mount:
        readable = functools.partial(may_pull, request)
        found = await store_of(request).repository_linking(digest, readable) is not None
    else:
        return None
    if not found or not await blobs.reusable(digest):
        return None
    await blobs.link(name, digest)
    return digest


async def _monolithic(request: web.Request, name: str, digest: Digest) -> web.Response:
    await store_of(request).uploads.put_whole(
        name, body_chunks(request), digest, request.content_length)
    return _created(request, name, digest)


async def _session(request: web.Request) -> tuple[str, str]:
    """The repository and upload id a request names, once the caller is
    known to own the session (else BLOB_UPLOAD_UNKNOWN, as for no session)."""
    name, upload = repo_name(request), upload_id(request)
    grant = grant_of(request)
    if grant is not None:  # without auth every session is anyone's: no read to pay
        await store_of(request).upload_owners.check(name, upload, grant.subject)
    return name, upload


async def upload_status(request: web.Request) -> web.Response:
    name, upload = await _session(request)
    size = await store_of(request).uploads.offset(name, upload)
    return _progress(request, name, upload, size, 204)


async def _append(request: web.Request, name: str, upload: str) -> int:
    """Stream the body onto the upload; a 416 carries the upload's state."""
    uploads = store_of(request).uploads
    span = content_range(request)
    async with _state_on_416(request, name, upload):
        return await uploads.append(name, upload, body_chunks(request),
                                    start=span[0] if span else None,
                                    length=span[1] - span[0] + 1 if span else None)


@contextlib.asynccontextmanager
async def _state_on_416(request: web.Request, name: str, upload: str):
    """A refused chunk (or a finish that lost a race) tells the client where
    the session stands, as the spec's 416 does."""
    try:
        yield
    except OciError as error:
        if error.status == 416:
            offset = await store_of(request).uploads.offset(name, upload)
            error.headers = _session_headers(request, name, upload, offset)
        raise


async def patch_upload(request: web.Request) -> web.Response:
    name, upload = await _session(request)
    size = await _append(request, name, upload)
    return _progress(request, name, upload, size, 202)


async def finish_upload(request: web.Request) -> web.Response:
    name, upload = await _session(request)
    digest = query_digest(request, "digest")
    uploads = store_of(request).uploads
    await uploads.offset(name, upload)  # unknown session: 404 before reading a body
    if request.body_exists:
        await _append(request, name, upload)
    async with _state_on_416(request, name, upload):
        await uploads.finish(name, upload, digest)
    return _created(request, name, digest)


async def cancel_upload(request: web.Request) -> web.Response:
    name, upload = await _session(request)
    await store_of(request).uploads.cancel(name, upload)
    return web.Response(status=204, headers=API_VERSION_HEADER)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_route("POST", "/v2/{name:[^{}]+}/blobs/uploads/", start_upload)
    session = "/v2/{name:[^{}]+}/blobs/uploads/{upload_id}"
    router.add_route("GET", session, upload_status)
    router.add_route("PATCH", session, patch_upload)
    router.add_route("PUT", session, finish_upload)
    router.add_route("DELETE", session, cancel_upload)
