"""One repository of a remote registry, as the distribution spec's endpoints
see it: manifests, blobs, uploads, tags. Everything read is verified."""
from __future__ import annotations

import json
from typing import AsyncIterator
from urllib.parse import urlencode

from ocispec import mediatypes as mt
from ocispec.descriptor import Descriptor
from ocispec.digest import Digest, Verifier
from ocispec.errors import ErrorCode, OciError
from ocispec.manifest import MAX_MANIFEST_BYTES, Manifest, parse_manifest
from ocispec.reference import Reference

from .auth import delete_scope, pull_scope, push_scope
from .fastget import fast_fetch, fast_get
from .lazyimport import lazy_module
from .transport import RegistryError, Transport, raise_for_status

aiohttp = lazy_module("aiohttp")  # loaded only when a request needs it

CHUNK = 1024 * 1024
MAX_TAG_LIST_BYTES = 16 * 1024 * 1024  # one page; a hostile registry cannot fill memory
MAX_CONFIG_BYTES = 16 * 1024 * 1024


class RemoteRepository:
    def __init__(self, transport: Transport, reference: Reference):
        self.transport = transport
        self.reference = reference
        self.host = reference.api_host
        self.name = reference.repository
        self.pull_scopes = (pull_scope(self.name),)
        self.push_scopes = (push_scope(self.name),)

    def __str__(self) -> str:
        return self.reference.name

    async def _request(self, method: str, path: str, scopes=None, **kwargs) -> aiohttp.ClientResponse:
        return await self.transport.request(method, self.host, path,
                                            scopes=scopes or self.pull_scopes, **kwargs)

    # manifests

    async def get_manifest(self, identifier: str, expected: Digest | None = None) -> Manifest:
        """Fetch and verify a manifest (against `expected` or Docker-Content-Digest)."""
        raw, header, content_type = await self._fetch_manifest(identifier)
        expected = expected or (Digest.parse(identifier) if ":" in identifier else None)
        actual = Digest.of_bytes(raw, expected.algorithm if expected else "sha256")
        if expected is not None and actual != expected:
            raise RegistryError(f"manifest of {self.name} has digest {actual}, expected {expected}")
        if header and expected is None and Digest.is_valid(header) and Digest.parse(header) != actual:
            raise RegistryError(f"manifest of {self.name} does not match its Docker-Content-Digest")
        if content_type and content_type.split(";")[0].strip() not in mt.MANIFESTS:
            content_type = None  # some registries answer text/plain; trust the body
        try:
            return parse_manifest(raw, content_type, actual)
        except OciError as err:
            raise RegistryError(f"registry sent an invalid manifest for {self.name}: {err.message}") from None

    async def _fetch_manifest(self, identifier: str) -> tuple[bytes, str | None, str | None]:
        """(body, Docker-Content-Digest, Content-Type), unverified."""
        path = f"/v2/{self.name}/manifests/{identifier}"
        fast = await self._fast_fetch(path, {"Accept": mt.MANIFEST_ACCEPT}, MAX_MANIFEST_BYTES)
        if fast is not None:
            answer, raw = fast
            return raw, answer.headers.get("docker-content-digest"), answer.headers.get("content-type")
        response = await self._request("GET", path, headers={"Accept": mt.MANIFEST_ACCEPT})
        async with response:
            if response.status == 404:
                response.release()
                raise RegistryError(f"manifest unknown: {self.reference.name}:{identifier} not found",
                                    404, ErrorCode.MANIFEST_UNKNOWN)
            await raise_for_status(response, f"fetching manifest {self.name}:{identifier}")
            raw = await response.content.read(MAX_MANIFEST_BYTES + 1)
            return raw, response.headers.get("Docker-Content-Digest"), response.headers.get("Content-Type")

    async def _fast_fetch(self, path: str, headers: dict[str, str], limit: int):
        """(answer, body) of a small GET through the fast path, or None."""
        authorization = await self.transport.auth_header(self.host, self.pull_scopes)
        if authorization:
            headers = dict(headers, Authorization=authorization)
        url = await self.transport.base_url(self.host) + path
        return await fast_fetch(url, headers, self.transport.ssl_for(self.host), limit)

    async def head_manifest(self, identifier: str) -> Digest | None:
        response = await self._request("HEAD", f"/v2/{self.name}/manifests/{identifier}",
                                       headers={"Accept": mt.MANIFEST_ACCEPT})
        async with response:
            if response.status == 404:
                return None
            await raise_for_status(response, f"checking manifest {self.name}:{identifier}")
            header = response.headers.get("Docker-Content-Digest", "")
            return Digest.parse(header) if Digest.is_valid(header) else None

    async def put_manifest(self, manifest: Manifest, identifier: str) -> Digest:
        response = await self._request("PUT", f"/v2/{self.name}/manifests/{identifier}",
                                       scopes=self.push_scopes,
                                       headers={"Content-Type": manifest.media_type},
                                       body=lambda: manifest.raw)
        async with response:
            await raise_for_status(response, f"pushing manifest {self.name}:{identifier}")
        return manifest.digest

    async def delete_manifest(self, identifier: str) -> None:
        response = await self._request("DELETE", f"/v2/{self.name}/manifests/{identifier}",
                                       scopes=(delete_scope(self.name), *self.push_scopes))
        async with response:
            await raise_for_status(response, f"deleting {self.name}@{identifier}")

    # blobs

    async def blob_exists(self, digest: Digest, scopes=None) -> bool:
        response = await self._request("HEAD", f"/v2/{self.name}/blobs/{digest}", scopes=scopes)
        async with response:
            if response.status == 404:
                return False
            await raise_for_status(response, f"checking blob {digest}")
            return True

    async def open_blob(self, digest: Digest, offset: int = 0) -> tuple[aiohttp.ClientResponse, int]:
        """GET a blob (following redirects), from `offset` when the registry
        honours Range. Returns the open response and where its body starts."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        response = await self._request("GET", f"/v2/{self.name}/blobs/{digest}", headers=headers)
        if response.status == 404:
            response.release()
            raise RegistryError(f"blob {digest} unknown to {self.reference.name}", 404,
                                ErrorCode.BLOB_UNKNOWN)
        if offset and response.status == 416:
            response.release()
            return await self.open_blob(digest, 0)
        await raise_for_status(response, f"fetching blob {digest}")
        return response, offset if response.status == 206 else 0

    async def fast_blob(self, digest: Digest, offset: int = 0):
        """(start offset, SocketBody) through the fast path, or None when the
        general path must take this request (auth challenge, redirect, error)."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        authorization = await self.transport.auth_header(self.host, self.pull_scopes)
        if authorization:
            headers["Authorization"] = authorization
        url = await self.transport.base_url(self.host) + f"/v2/{self.name}/blobs/{digest}"
        result = await fast_get(url, headers, self.transport.ssl_for(self.host))
        if result is None:
            return None
        answer, body = result
        if answer.status == 206 and not answer.headers.get("content-range", "").startswith(
                f"bytes {offset}-"):
            body.close()
            return None
        return (offset if answer.status == 206 else 0), body

    async def blob_chunks(self, descriptor: Descriptor) -> AsyncIterator[bytes]:
        """The blob's bytes, verified (see verify_stream)."""
        response, _ = await self.open_blob(descriptor.digest)
        async with response:
            async for chunk in verify_stream(response.content.iter_chunked(CHUNK), descriptor,
                                             str(self)):
                yield chunk

    # tags

    async def list_tags(self) -> list[str]:
        """Every tag, following `Link` pagination."""
        tags: list[str] = []
        path: str | None = f"/v2/{self.name}/tags/list?{urlencode({'n': 1000})}"
        while path:
            response = await self._request("GET", path)
            async with response:
                if response.status == 404:
                    raise RegistryError(f"repository {self.reference.name} not found", 404,
                                        ErrorCode.NAME_UNKNOWN)
                await raise_for_status(response, f"listing tags of {self.name}")
                try:
                    body = json.loads(await response.content.read(MAX_TAG_LIST_BYTES))
                    page = body.get("tags") or []
                except (ValueError, AttributeError, UnicodeDecodeError):
                    raise RegistryError(f"registry sent a malformed tag list for {self.name}") from None
                tags.extend(str(t) for t in page)
                path = _next_link(response.headers.get("Link"))
        return tags


async def verify_stream(chunks: AsyncIterator[bytes], descriptor: Descriptor,
                        origin: str) -> AsyncIterator[bytes]:
    """Pass chunks through, holding the last one back until digest and size
    check out, so that whoever receives them never commits bad content."""
    verifier, held = Verifier(descriptor.digest, descriptor.size), b""
    async for chunk in chunks:
        if held:
            yield held
        verifier.update(chunk)
        if verifier.size > descriptor.size:
            raise RegistryError(f"blob {descriptor.digest} from {origin} is longer than "
                                f"its descriptor's {descriptor.size} bytes")
        held = chunk
    try:
        verifier.verify()
    except OciError as err:
        raise RegistryError(f"blob {descriptor.digest} from {origin}: {err.message}") from None
    if held:
        yield held


def _next_link(header: str | None) -> str | None:
    """`<url>; rel="next"` → url (relative paths stay relative to the host)."""
    if not header:
        return None
    for part in header.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            return target.strip().strip("<>")
    return None
