"""One repository of a remote registry, one method per endpoint of the
distribution spec: manifests, blobs, uploads, tags. Everything read is
verified; every request goes through the one HTTP stack (puller/http)."""
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

from .errors import BlobMismatch, RegistryError
from .http.auth import repository_scope
from .http.request import Body, body_length
from .http.response import Response, ResponseBody
from .http.transport import Transport, raise_for_status

MAX_TAG_LIST_BYTES = 16 * 1024 * 1024  # one page; a hostile registry cannot fill memory


class RemoteRepository:
    def __init__(self, transport: Transport, reference: Reference):
        self.transport = transport
        self.reference = reference
        self.host = reference.api_host
        self.name = reference.repository
        self.pull_scopes = (repository_scope(self.name, "pull"),)
        self.push_scopes = (repository_scope(self.name, "pull,push"),)

    def __str__(self) -> str:
        return self.reference.name

    async def _request(self, method: str, path: str, scopes: tuple[str, ...] | None = None,
                       **kwargs) -> Response:
        return await self.transport.request(method, self.host, path,
                                            scopes=scopes or self.pull_scopes, **kwargs)

    # manifests

    async def get_manifest(self, identifier: str, expected: Digest | None = None) -> Manifest:
        """GET a manifest, verified against `expected` or Docker-Content-Digest."""
        async with await self._request("GET", f"/v2/{self.name}/manifests/{identifier}",
                                       headers={"Accept": mt.MANIFEST_ACCEPT}) as response:
            if response.status == 404:
                raise RegistryError(f"manifest unknown: {self.reference.name}:{identifier} not found",
                                    404, ErrorCode.MANIFEST_UNKNOWN)
            await raise_for_status(response, f"fetching manifest {self.name}:{identifier}")
            raw = await response.read(MAX_MANIFEST_BYTES + 1)
        expected = expected or (Digest.parse(identifier) if ":" in identifier else None)
        actual = Digest.of_bytes(raw, expected.algorithm if expected else "sha256")
        if expected is not None and actual != expected:
            raise RegistryError(f"manifest of {self.name} has digest {actual}, expected {expected}")
        header = response.headers.get("docker-content-digest")
        if header and expected is None and Digest.is_valid(header) and Digest.parse(header) != actual:
            raise RegistryError(f"manifest of {self.name} does not match its Docker-Content-Digest")
        content_type = response.headers.get("content-type")
        if content_type and content_type.split(";")[0].strip() not in mt.MANIFESTS:
            content_type = None  # some registries answer text/plain; trust the body
        try:
            return parse_manifest(raw, content_type, actual)
        except OciError as err:
            raise RegistryError(f"registry sent an invalid manifest for {self.name}: {err.message}") from None

    async def head_manifest(self, identifier: str) -> Digest | None:
        async with await self._request("HEAD", f"/v2/{self.name}/manifests/{identifier}",
                                       headers={"Accept": mt.MANIFEST_ACCEPT}) as response:
            if response.status == 404:
                return None
            await raise_for_status(response, f"checking manifest {self.name}:{identifier}")
            header = response.headers.get("docker-content-digest", "")
            return Digest.parse(header) if Digest.is_valid(header) else None

    async def put_manifest(self, manifest: Manifest, identifier: str) -> Digest:
        async with await self._request("PUT", f"/v2/{self.name}/manifests/{identifier}",
                                       scopes=self.push_scopes, body=manifest.raw,
                                       headers={"Content-Type": manifest.media_type}) as response:
            await raise_for_status(response, f"pushing manifest {self.name}:{identifier}")
        return manifest.digest

    async def delete_manifest(self, identifier: str) -> None:
        scopes = (repository_scope(self.name, "delete"), *self.push_scopes)
        async with await self._request("DELETE", f"/v2/{self.name}/manifests/{identifier}",
                                       scopes=scopes) as response:
            await raise_for_status(response, f"deleting {self.name}@{identifier}")

    # blobs

    async def blob_exists(self, digest: Digest, scopes: tuple[str, ...] | None = None) -> bool:
        async with await self._request("HEAD", f"/v2/{self.name}/blobs/{digest}",
                                       scopes=scopes) as response:
            if response.status == 404:
                return False
            await raise_for_status(response, f"checking blob {digest}")
            return True

    async def open_blob(self, digest: Digest, offset: int = 0) -> tuple[int, ResponseBody]:
        """GET a blob (following redirects), from `offset` when the registry
        honours Range. Returns where the body starts, and the body."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        response = await self._request("GET", f"/v2/{self.name}/blobs/{digest}", headers=headers)
        partial = response.status == 206
        if response.status == 404:
            response.close()
            raise RegistryError(f"blob {digest} unknown to {self.reference.name}", 404,
                                ErrorCode.BLOB_UNKNOWN)
        if offset and (response.status == 416 or partial and not response.headers.get(
                "content-range", "").startswith(f"bytes {offset}-")):
            await response.discard()
            return await self.open_blob(digest, 0)  # not the range asked for: from the start
        await raise_for_status(response, f"fetching blob {digest}")
        return (offset if partial else 0), response.body

    async def read_blob(self, descriptor: Descriptor, limit: int) -> bytes:
        """A small blob (a config) whole, verified."""
        if descriptor.size > limit:
            raise RegistryError(f"blob {descriptor.digest} is implausibly large ({descriptor.size} bytes)")
        _, body = await self.open_blob(descriptor.digest)
        return b"".join([chunk async for chunk in verify_stream(body, descriptor, str(self))])

    # uploads

    async def start_upload(self, mount: Digest | None = None, origin: str | None = None) -> str | None:
        """POST an upload session; its Location. With `mount`, ask for the blob
        to be linked from the repository `origin` (same host) instead: None
        when it was, else the Location of the session opened in its place."""
        path, scopes = f"/v2/{self.name}/blobs/uploads/", self.push_scopes
        if mount is not None:
            path += "?" + urlencode({"mount": str(mount), "from": origin})
            scopes = (*scopes, repository_scope(origin, "pull"))
        async with await self._request("POST", path, scopes=scopes) as response:
            if mount is not None and response.status == 201:
                return None
            await raise_for_status(response, f"starting an upload to {self.name}")
            location = response.headers.get("location")
            if response.status != 202 or not location:
                raise RegistryError(f"registry answered an upload start with {response.status} "
                                    "and no Location", response.status, ErrorCode.BLOB_UPLOAD_INVALID)
            return location

    async def patch_upload(self, location: str, body: Body, offset: int) -> str:
        """PATCH the next piece of an upload (sent once: a stream cannot be
        replayed); the Location for the piece after it."""
        length = body_length(body)
        headers = {"Content-Type": "application/octet-stream",
                   "Content-Range": f"{offset}-{offset + length - 1}"}
        async with await self._request("PATCH", location, scopes=self.push_scopes, headers=headers,
                                       body=body, replayable=False) as response:
            await raise_for_status(response, f"uploading to {self.name}")
            return response.headers.get("location") or location

    async def commit_upload(self, location: str, digest: Digest) -> None:
        """PUT the end of an upload: the digest its bytes must have."""
        url = location + ("&" if "?" in location else "?") + urlencode({"digest": str(digest)})
        async with await self._request("PUT", url, scopes=self.push_scopes) as response:
            await raise_for_status(response, f"committing blob {digest} to {self.name}")

    async def cancel_upload(self, location: str) -> None:
        """DELETE an upload session, so that a failed upload leaves nothing behind."""
        response = await self.transport.request("DELETE", self.host, location,
                                                scopes=self.push_scopes, replayable=False)
        await response.discard()

    # tags

    async def list_tags(self) -> list[str]:
        """Every tag, following `Link` pagination."""
        tags: list[str] = []
        path: str | None = f"/v2/{self.name}/tags/list?{urlencode({'n': 1000})}"
        while path:
            async with await self._request("GET", path) as response:
                if response.status == 404:
                    raise RegistryError(f"repository {self.reference.name} not found", 404,
                                        ErrorCode.NAME_UNKNOWN)
                await raise_for_status(response, f"listing tags of {self.name}")
                try:
                    page = json.loads(await response.read(MAX_TAG_LIST_BYTES)).get("tags") or []
                except (ValueError, AttributeError, UnicodeDecodeError):
                    raise RegistryError(f"registry sent a malformed tag list for {self.name}") from None
                tags.extend(str(t) for t in page)
                path = _next_link(response.headers.get("link"))
        return tags


async def verify_stream(chunks: AsyncIterator[bytes], descriptor: Descriptor,
                        origin: str) -> AsyncIterator[bytes]:
    """Pass chunks through, holding the last one back until digest and size
    check out, so that whoever receives them never commits bad content."""
    verifier, held = Verifier(descriptor.digest, descriptor.size), b""
    try:
        async for chunk in chunks:
            if held:
                yield held
            verifier.update(chunk)  # refuses what runs past the descriptor's size
            held = chunk
        verifier.verify()
    except OciError as err:
        raise BlobMismatch(f"blob {descriptor.digest} from {origin}: {err.message}") from None
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
