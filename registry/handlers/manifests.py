"""`/v2/<name>/manifests/<reference>`: GET, HEAD, PUT and DELETE by tag or digest.

Manifests are stored as the exact bytes received and served with the media
type they declare.
"""
from __future__ import annotations

from aiohttp import web

from ocispec.digest import Digest, verify_bytes
from ocispec.errors import ErrorCode, OciError
from ocispec.manifest import MAX_MANIFEST_BYTES, Manifest, parse_manifest

from ..middlewares import API_VERSION_HEADER
from ..store import StoredManifest
from .params import config_of, manifest_location, reference, repo_name, store_of


async def _lookup(request: web.Request) -> StoredManifest:
    name = repo_name(request)
    ref = reference(request, ErrorCode.MANIFEST_UNKNOWN)
    store = store_of(request)
    if isinstance(ref, Digest):
        return await store.manifests.get(name, ref)
    digest = await store.tags.resolve(name, ref)
    if digest is None:
        raise OciError(ErrorCode.MANIFEST_UNKNOWN, detail={"tag": ref})
    # The tag link is this repository's own link to the manifest (deletes
    # untag before unlinking), so a second link read would only cost time.
    return await store.manifests.get(name, digest, linked=True)


def _headers(entry: StoredManifest) -> dict[str, str]:
    return {**API_VERSION_HEADER, "Content-Type": entry.media_type,
            "Docker-Content-Digest": str(entry.digest), "ETag": f'"{entry.digest}"'}


async def get_manifest(request: web.Request) -> web.Response:
    entry = await _lookup(request)
    headers = _headers(entry)
    if request.headers.get("If-None-Match") == headers["ETag"]:
        return web.Response(status=304, headers=headers)  # the client's copy is current
    return web.Response(body=entry.raw, headers=headers)


async def head_manifest(request: web.Request) -> web.Response:
    entry = await _lookup(request)
    return web.Response(headers={**_headers(entry), "Content-Length": str(len(entry.raw))})


async def _read_body(request: web.Request) -> bytes:
    """The manifest bytes, refusing more than 4 MiB without reading them all."""
    too_large = OciError(ErrorCode.SIZE_TOO_LARGE, "manifest exceeds 4 MiB", status=413)
    if (request.content_length or 0) > MAX_MANIFEST_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > MAX_MANIFEST_BYTES:
            raise too_large
    return bytes(body)


def _parse(raw: bytes, content_type: str | None, digest: Digest) -> Manifest:
    try:
        return parse_manifest(raw, content_type, digest)
    except (TypeError, ValueError, AttributeError, RecursionError):
        # A last net at the edge: a shape the parser did not foresee is still bad input, never a 500.
        raise OciError(ErrorCode.MANIFEST_INVALID, "manifest has an invalid structure") from None


async def put_manifest(request: web.Request) -> web.Response:
    name = repo_name(request)
    ref = reference(request, ErrorCode.MANIFEST_INVALID)
    raw = await _read_body(request)
    digest = verify_bytes(raw, ref) if isinstance(ref, Digest) else Digest.of_bytes(raw)
    manifest = _parse(raw, request.headers.get("Content-Type"), digest)
    await store_of(request).manifests.put(name, manifest, None if isinstance(ref, Digest) else ref)
    headers = {**API_VERSION_HEADER, "Location": manifest_location(request, name, digest),
               "Docker-Content-Digest": str(digest), "Content-Length": "0"}
    if manifest.subject is not None:
        headers["OCI-Subject"] = str(manifest.subject.digest)
    return web.Response(status=201, headers=headers)


async def delete_manifest(request: web.Request) -> web.Response:
    name = repo_name(request)
    ref = reference(request, ErrorCode.MANIFEST_UNKNOWN)
    if not config_of(request).delete_enabled:
        # The conformance suite allows 405 for a manifest delete but only 400
        # UNSUPPORTED for a refused tag delete.
        raise OciError(ErrorCode.UNSUPPORTED, "deletes are disabled on this registry",
                       status=405 if isinstance(ref, Digest) else 400)
    store = store_of(request)
    if isinstance(ref, Digest):
        await store.manifests.delete(name, ref)
    elif not await store.tags.remove(name, ref):
        raise OciError(ErrorCode.MANIFEST_UNKNOWN, detail={"tag": ref})
    return web.Response(status=202, headers=API_VERSION_HEADER)


def add_routes(router: web.UrlDispatcher) -> None:
    path = "/v2/{name:[^{}]+}/manifests/{reference}"
    router.add_route("HEAD", path, head_manifest)
    router.add_route("GET", path, get_manifest)
    router.add_route("PUT", path, put_manifest)
    router.add_route("DELETE", path, delete_manifest)
