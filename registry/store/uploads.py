"""Blob upload sessions, kept in storage so any worker or replica can take
the next chunk.

The bytes received so far live at `_uploads/<id>/data`. Requests for one
session take turns through claims in the store (see upload_claims), so any
replica may take any chunk. The running hash is only a cache in this
process, keyed by (upload id, offset): when another process took the last
chunk the key misses and the hash is rebuilt by re-reading the data. Bytes
become a blob only after their digest verifies, by a rename into the blob
store.
"""
from __future__ import annotations

import re
import time
import uuid
from typing import AsyncIterator

from ocispec.digest import Digest, HashState, Verifier
from ocispec.errors import ErrorCode, OciError
from ocispec.verified import copy_verified_async
from storage_backends.base import PathNotFound, StorageDriver

from .. import paths
from .blobs import BlobStore
from .lru import ByteLRU
from .upload_claims import UploadClaims, chunk_out_of_range

UPLOAD_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HASH_CACHE_LIMIT = 1024  # running hashes kept


def check_upload_id(upload_id: str) -> str:
    """Upload ids become storage keys: accept only the UUIDs we hand out."""
    if not UPLOAD_ID_RE.fullmatch(upload_id):
        raise OciError(ErrorCode.BLOB_UPLOAD_UNKNOWN, detail={"uuid": upload_id[:100]})
    return upload_id


class UploadStore:
    def __init__(self, driver: StorageDriver, blobs: BlobStore):
        self.driver = driver
        self.blobs = blobs
        # (upload id, offset, algorithm) -> the hash of the upload's first offset bytes
        self.hashes: ByteLRU[tuple[str, int, str], HashState] = ByteLRU(
            _HASH_CACHE_LIMIT, 1, lambda state: 1)
        self.claims = UploadClaims(driver)

    async def start(self, name: str) -> str:
        """A new session; its `data` key appears with the first bytes."""
        upload_id = str(uuid.uuid4())
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        await self.driver.put_content(paths.upload_started_at(name, upload_id), started.encode())
        return upload_id

    async def offset(self, name: str, upload_id: str) -> int:
        """Bytes received so far; raises BLOB_UPLOAD_UNKNOWN."""
        try:
            info = await self.driver.stat(paths.upload_data(name, upload_id))
            if not info.is_dir:
                return info.size
        except PathNotFound:
            if await self.driver.exists(paths.upload_started_at(name, upload_id)):
                return 0  # started, nothing received yet
        raise OciError(ErrorCode.BLOB_UPLOAD_UNKNOWN, detail={"uuid": upload_id})

    async def put_whole(self, name: str, chunks: AsyncIterator[bytes], digest: Digest,
                        length: int | None) -> None:
        """A monolithic upload: stream, verify, and only then commit and link.

        No session is recorded: until the digest matches, the bytes are an
        uncommitted write that no reader can see. Content the store already
        holds is only hashed (a re-push costs no disk writes)."""
        key = paths.upload_data(name, str(uuid.uuid4()))
        stored = await self.blobs.reusable(digest)
        writer = None if stored else await self.driver.writer(key)
        verifier = Verifier(digest, length)
        try:
            await copy_verified_async(chunks, writer, verifier)
            verifier.verify()
        except BaseException:
            if writer is not None:
                await writer.cancel()
            raise
        if writer is not None:
            await writer.commit()
            await self.blobs.adopt(key, digest)
        await self.blobs.link(name, digest)

    async def append(self, name: str, upload_id: str, chunks: AsyncIterator[bytes],
                     start: int | None = None, length: int | None = None) -> int:
        """Stream a chunk onto the upload; returns the new size.

        `start` (from Content-Range) must equal the current size, else
        416 (see chunk_out_of_range); `length`, when given, must equal the
        bytes received. Of requests racing for one offset, on any replica,
        one lands and the others get 416."""
        offset = await self.offset(name, upload_id)
        if start is not None and start != offset:
            raise chunk_out_of_range(f"chunk starts at {start}, upload is at {offset}")
        await self.claims.take(name, upload_id, offset)
        try:
            size = await self._write_chunk(name, upload_id, offset, chunks, length)
        except BaseException:
            await self.claims.give_back(name, upload_id, offset)
            raise
        await self.claims.ended(name, upload_id, size)
        return size

    async def _write_chunk(self, name: str, upload_id: str, offset: int,
                           chunks: AsyncIterator[bytes], length: int | None) -> int:
        verifier = await self._verifier(name, upload_id, offset,
                                        size=None if length is None else offset + length)
        writer = await self.driver.writer(paths.upload_data(name, upload_id), append=True)
        try:
            await copy_verified_async(chunks, writer, verifier)
            verifier.verify()  # the size only: the digest comes with the last request
        except BaseException:
            await writer.cancel()
            raise
        await writer.commit()
        self.hashes.put((upload_id, verifier.size, "sha256"), verifier.save())
        return verifier.size

    async def finish(self, name: str, upload_id: str, digest: Digest) -> None:
        """Verify the whole upload against `digest`, then publish and link it.

        The final size is claimed first: a PATCH racing on another replica
        would otherwise append after the check and before the move."""
        size = await self.offset(name, upload_id)
        await self.claims.take(name, upload_id, size)
        try:
            await self._publish(name, upload_id, digest, size)
        except OciError:
            raise  # the session is gone or was refused: nothing to give back
        except BaseException:
            await self.claims.give_back(name, upload_id, size)
            raise

    async def _publish(self, name: str, upload_id: str, digest: Digest, size: int) -> None:
        verifier = await self._verifier(name, upload_id, size, expected=digest)
        try:
            verifier.verify()
        except OciError:
            await self._remove(name, upload_id)  # a failed session is not resumable
            raise
        if size == 0 and not await self.driver.exists(paths.upload_data(name, upload_id)):
            await self.driver.put_content(paths.upload_data(name, upload_id), b"")
        await self.blobs.adopt(paths.upload_data(name, upload_id), digest)
        await self.blobs.link(name, digest)
        await self._remove(name, upload_id)

    async def cancel(self, name: str, upload_id: str) -> None:
        await self.offset(name, upload_id)  # raises when unknown
        await self._remove(name, upload_id)

    async def _remove(self, name: str, upload_id: str) -> None:
        try:
            await self.driver.delete(paths.upload_dir(name, upload_id))
        except PathNotFound:
            pass

    async def _verifier(self, name: str, upload_id: str, offset: int,
                        expected: Digest | None = None, size: int | None = None) -> Verifier:
        """A Verifier that has seen the upload's first `offset` bytes: from the
        cache, else by hashing them again (another process took the last chunk)."""
        algorithm = expected.algorithm if expected else "sha256"
        cached = self.hashes.take((upload_id, offset, algorithm))
        if cached is not None:
            return Verifier.resume(cached, expected, size)
        verifier = Verifier(expected, size, algorithm)
        if offset:
            stream = self.driver.read_stream(paths.upload_data(name, upload_id), 0, offset)
            await copy_verified_async(stream, None, verifier)
        return verifier
