"""The two ends of a copy. A source hands out manifests and blob streams; a
destination takes blobs and manifests. Pull, push and copy are the same
walk (`puller.copy`) between two of these: a registry or an OCI layout on
either side."""
from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator, Callable

from ocispec.descriptor import Descriptor
from ocispec.digest import Digest
from ocispec.errors import OciError
from ocispec.layout import OciLayout
from ocispec.manifest import Manifest, parse_manifest
from ocispec.reference import Reference

from .errors import CorruptImage, ImageNotFound
from .layout_io import ingest_blob, write_small_blob
from .remote import RemoteRepository, verify_stream
from .streams import BlobStream, FileStream
from .upload import upload_blob

Advance = Callable[[int], None]


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

    async def open_blob(self, descriptor: Descriptor, offset: int = 0) -> tuple[int, BlobStream]:
        return await self.repo.open_blob(descriptor.digest, offset)

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
            raise CorruptImage(f"manifest {descriptor.digest} in {self.layout.root} is corrupt")
        try:
            return parse_manifest(raw, descriptor.media_type, descriptor.digest)
        except OciError as err:
            raise CorruptImage(f"manifest {descriptor.digest} in {self.layout.root}: {err.message}") from None

    async def open_blob(self, descriptor: Descriptor, offset: int = 0) -> tuple[int, BlobStream]:
        try:
            return offset, FileStream(self.layout.blob_path(descriptor.digest), offset)
        except FileNotFoundError:
            raise ImageNotFound(f"blob {descriptor.digest} missing from {self.layout.root}") from None

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
    def __init__(self, repo: RemoteRepository):
        self.repo = repo

    async def has_blob(self, descriptor: Descriptor) -> bool:
        return await self.repo.blob_exists(descriptor.digest, self.repo.push_scopes)

    async def put_blob(self, descriptor: Descriptor, source, advance: Advance) -> str:
        return await upload_blob(self.repo, descriptor, file=source.blob_file(descriptor),
                                 chunks=lambda: verified_chunks(source, descriptor),
                                 advance=advance, mount_from=source.mount_origin(self.repo.host))

    async def put_manifest(self, manifest: Manifest, descriptor: Descriptor, top: bool) -> None:
        reference = self.repo.reference
        identifier = reference.tag if top and reference.tag else str(descriptor.digest)
        await self.repo.put_manifest(manifest, identifier)
