"""Where images come from and go to. A source hands out manifests and blob
streams; a destination takes blobs and manifests. Pull, push and copy are the
same walk (`puller.copy`) between two of these."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator, Callable

from ocispec.descriptor import Descriptor
from ocispec.digest import Digest
from ocispec.layout import OciLayout
from ocispec.manifest import Manifest, parse_manifest
from ocispec.reference import Reference

from . import fastget, fastpush
from .layout_io import Interrupted, ingest_blob, read_file_chunks, write_small_blob
from .lazyimport import lazy_module
from .remote import CHUNK, RemoteRepository, verify_stream
from .store import ImageNotFound
from .transport import RegistryError
from .upload import upload_blob

aiohttp = lazy_module("aiohttp")  # loaded only when a request needs it

Advance = Callable[[int], None]


async def _response_chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    async with response:
        try:
            async for chunk in response.content.iter_chunked(CHUNK):
                yield chunk
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError,
                asyncio.TimeoutError) as err:
            raise Interrupted(f"download interrupted: {err}") from None


class RegistrySource:
    trusted = False  # bytes from the network are verified as they pass

    def __init__(self, repo: RemoteRepository):
        self.repo = repo

    def describe(self) -> str:
        return str(self.repo.reference)

    async def top(self) -> Manifest:
        return await self.repo.get_manifest(self.repo.reference.identifier, self.repo.reference.digest)

    async def manifest(self, descriptor: Descriptor) -> Manifest:
        return await self.repo.get_manifest(str(descriptor.digest), descriptor.digest)

    async def open_blob(self, descriptor: Descriptor, offset: int = 0):
        if fastget.ENABLED:
            fast = await self.repo.fast_blob(descriptor.digest, offset)
            if fast is not None:
                return fast  # a SocketBody: iterable, or pumped straight into a file
        response, start = await self.repo.open_blob(descriptor.digest, offset)
        return start, _response_chunks(response)

    def mount_origin(self, host: str) -> str | None:
        return self.repo.name if host == self.repo.host else None

    def blob_file(self, descriptor: Descriptor) -> None:
        return None  # bytes from the network: they must pass through the verifier


class LayoutSource:
    """An OCI layout: the local store (names are full references) or `oci:DIR:TAG`."""
    trusted = True  # blobs entered the layout verified

    def __init__(self, layout: OciLayout, ref_name: str, descriptor: Descriptor | None = None,
                 origin: Reference | None = None):
        self.layout, self.ref_name, self._descriptor = layout, ref_name, descriptor
        self.origin = origin  # where the image was pulled from: a mount candidate

    def describe(self) -> str:
        return f"{self.layout.root}:{self.ref_name}"

    def top_descriptor(self) -> Descriptor:
        descriptor = self._descriptor or self.layout.resolve(self.ref_name)
        if descriptor is None:
            index = self.layout.index()
            if not self.ref_name and len(index) == 1:
                return index[0]
            raise ImageNotFound(f"image {self.ref_name!r} not found in {self.layout.root}")
        return descriptor

    async def top(self) -> Manifest:
        return await self.manifest(self.top_descriptor())

    async def manifest(self, descriptor: Descriptor) -> Manifest:
        try:
            raw = self.layout.read_blob(descriptor.digest)
        except FileNotFoundError:
            raise ImageNotFound(f"manifest {descriptor.digest} missing from {self.layout.root}") from None
        if Digest.of_bytes(raw, descriptor.digest.algorithm) != descriptor.digest:
            raise RegistryError(f"manifest {descriptor.digest} in {self.layout.root} is corrupt")
        return parse_manifest(raw, descriptor.media_type, descriptor.digest)

    async def open_blob(self, descriptor: Descriptor, offset: int = 0):
        path = self.layout.blob_path(descriptor.digest)
        if not path.is_file():
            raise ImageNotFound(f"blob {descriptor.digest} missing from {self.layout.root}")
        return offset, read_file_chunks(path, offset)

    def mount_origin(self, host: str) -> str | None:
        if self.origin is not None and self.origin.api_host == host:
            return self.origin.repository
        return None

    def blob_file(self, descriptor: Descriptor) -> Path | None:
        """The file holding a blob, for uploads that send it with sendfile."""
        path = self.layout.blob_path(descriptor.digest)
        return path if path.is_file() else None


async def verified_chunks(source, descriptor: Descriptor) -> AsyncIterator[bytes]:
    """The source's bytes; verified on the way unless the source is trusted."""
    _, chunks = await source.open_blob(descriptor, 0)
    if not source.trusted:
        chunks = verify_stream(chunks, descriptor, source.describe())
    async for chunk in chunks:
        yield chunk


class LayoutDest:
    """Writes into an OCI layout and names the top manifest `ref_name`."""

    def __init__(self, layout: OciLayout, ref_name: str, sync: bool = True):
        self.layout, self.ref_name, self.sync = layout.init(), ref_name, sync

    async def has_blob(self, descriptor: Descriptor) -> bool:
        return self.layout.has_blob(descriptor.digest)

    async def put_blob(self, descriptor: Descriptor, source, advance: Advance) -> str:
        return await ingest_blob(self.layout, descriptor, source.open_blob, advance, self.sync)

    async def put_manifest(self, manifest: Manifest, descriptor: Descriptor, top: bool) -> None:
        write_small_blob(self.layout, manifest.raw, descriptor)
        if top:
            self.layout.set_ref(self.ref_name, descriptor)


class RegistryDest:
    """Pushes to a registry: through the fast path (fastpush) when it can,
    the general one (upload.py, aiohttp) otherwise."""

    def __init__(self, repo: RemoteRepository):
        self.repo = repo

    async def has_blob(self, descriptor: Descriptor) -> bool:
        exists = await fastpush.blob_exists(self.repo, descriptor.digest)
        if exists is None:
            exists = await self.repo.blob_exists(descriptor.digest, self.repo.push_scopes)
        return exists

    async def put_blob(self, descriptor: Descriptor, source, advance: Advance) -> str:
        origin = source.mount_origin(self.repo.host)
        path = source.blob_file(descriptor)
        if origin is None and path is not None and \
                await fastpush.upload_file(self.repo, descriptor, path, advance):
            return "pushed"
        return await upload_blob(self.repo, descriptor, lambda: verified_chunks(source, descriptor),
                                 advance, origin)

    async def put_manifest(self, manifest: Manifest, descriptor: Descriptor, top: bool) -> None:
        reference = self.repo.reference
        identifier = reference.tag if top and reference.tag else str(descriptor.digest)
        if not await fastpush.put_manifest(self.repo, manifest, identifier):
            await self.repo.put_manifest(manifest, identifier)
