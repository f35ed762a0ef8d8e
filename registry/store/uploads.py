"""Blob upload sessions, kept in storage so any worker or replica can take
the next chunk.

The bytes received so far live at `_uploads/<id>/data`. The running hash is
only a cache in this process, keyed by (upload id, offset): when another
process took the last chunk the key misses and the hash is rebuilt by
re-reading the data. Bytes become a blob only after their digest verifies,
by a rename into the blob store.
"""
from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections import OrderedDict
from typing import AsyncIterator

from ocispec.digest import Digest
from ocispec.errors import ErrorCode, OciError
from storage_backends.base import PathNotFound, StorageDriver

from .. import paths
from .blobs import BlobStore
from .upload_locks import UploadLocks

UPLOAD_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HASH_CACHE_LIMIT = 1024
PUMP_BATCH = 4 << 20
INLINE_HASH_LIMIT = 64 * 1024


def check_upload_id(upload_id: str) -> str:
    """Upload ids become storage keys: accept only the UUIDs we hand out."""
    if not UPLOAD_ID_RE.fullmatch(upload_id):
        raise OciError(ErrorCode.BLOB_UPLOAD_UNKNOWN, detail={"uuid": upload_id[:100]})
    return upload_id


async def _pump(chunks: AsyncIterator[bytes], writer, hasher) -> int:
    """Copy a stream into a writer and a hash, in batches of about PUMP_BATCH.

    A batch is a list of the received chunks, not a joined copy: every copy
    of an upload's bytes costs CPU. Each batch is hashed in a thread while
    the writer stores it, so hashing, disk writes and receiving the next
    bytes overlap instead of taking turns."""
    received, batch, batched = 0, [], 0
    async for chunk in chunks:
        batch.append(chunk)
        batched += len(chunk)
        if batched >= PUMP_BATCH:
            await _store_batch(batch, batched, writer, hasher)
            received, batch, batched = received + batched, [], 0
    if batch:
        await _store_batch(batch, batched, writer, hasher)
    return received + batched


def _hash_all(hasher, batch: list[bytes]) -> None:
    for chunk in batch:
        hasher.update(chunk)


async def _write_all(writer, batch: list[bytes]) -> None:
    for chunk in batch:
        await writer.write(chunk)


async def _store_batch(batch: list[bytes], size: int, writer, hasher) -> None:
    if size < INLINE_HASH_LIMIT:  # a thread hop costs more than hashing a few KiB
        _hash_all(hasher, batch)
        await _write_all(writer, batch)
    else:
        await asyncio.gather(asyncio.to_thread(_hash_all, hasher, batch), _write_all(writer, batch))


def chunk_out_of_range(message: str) -> OciError:
    """A chunk that does not continue the upload: 416, as the spec requires.
    The spec's table names no code for it; BLOB_UPLOAD_INVALID is nearest."""
    return OciError(ErrorCode.BLOB_UPLOAD_INVALID, message, status=416)


def _check_digest(hasher, digest: Digest) -> None:
    if hasher.hexdigest() != digest.encoded:
        raise OciError(ErrorCode.DIGEST_INVALID,
                       f"content digest {hasher.name}:{hasher.hexdigest()} does not match {digest}",
                       {"digest": str(digest)})


class _Discard:
    """A writer for bytes the store already has: they are only verified."""

    async def write(self, chunk: bytes) -> None:
        pass

    async def cancel(self) -> None:
        pass


class HashCache:
    """Running hashes by (upload id, offset, algorithm); small LRU."""

    def __init__(self, limit: int = _HASH_CACHE_LIMIT):
        self.limit = limit
        self._entries: OrderedDict[tuple[str, int, str], "hashlib._Hash"] = OrderedDict()

    def take(self, upload_id: str, offset: int, algorithm: str):
        return self._entries.pop((upload_id, offset, algorithm), None)

    def keep(self, upload_id: str, offset: int, hasher) -> None:
        self._entries[(upload_id, offset, hasher.name)] = hasher
        while len(self._entries) > self.limit:
            self._entries.popitem(last=False)


class UploadStore:
    def __init__(self, driver: StorageDriver, blobs: BlobStore):
        self.driver = driver
        self.blobs = blobs
        self.hashes = HashCache()
        self.locks = UploadLocks()

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
        stored = await self.blobs.global_size(digest, fresh=True) is not None
        writer = _Discard() if stored else await self.driver.writer(key)
        hasher = hashlib.new(digest.algorithm)
        try:
            received = await _pump(chunks, writer, hasher)
            if length is not None and received != length:
                raise OciError(ErrorCode.SIZE_INVALID, f"received {received} bytes, expected {length}")
            _check_digest(hasher, digest)
        except BaseException:
            await writer.cancel()
            raise
        if not stored:
            await writer.commit()
            await self.blobs.adopt(key, digest)
        await self.blobs.link(name, digest)

    async def append(self, name: str, upload_id: str, chunks: AsyncIterator[bytes],
                     start: int | None = None, length: int | None = None) -> int:
        """Stream a chunk onto the upload; returns the new size.

        `start` (from Content-Range) must equal the current size, else
        416 (see chunk_out_of_range); `length`, when given, must equal the
        bytes received.
        Requests for one session take turns, across this host's workers too."""
        async with self.locks.hold(upload_id):
            return await self._append(name, upload_id, chunks, start, length)

    async def _append(self, name: str, upload_id: str, chunks: AsyncIterator[bytes],
                      start: int | None, length: int | None) -> int:
        offset = await self.offset(name, upload_id)
        if start is not None and start != offset:
            raise chunk_out_of_range(f"chunk starts at {start}, upload is at {offset}")
        hasher = await self._hasher(name, upload_id, offset, "sha256")
        writer = await self.driver.writer(paths.upload_data(name, upload_id), append=True)
        try:
            received = await _pump(chunks, writer, hasher)
            if length is not None and received != length:
                raise OciError(ErrorCode.SIZE_INVALID, f"received {received} bytes, expected {length}")
        except BaseException:
            await writer.cancel()
            raise
        await writer.commit()
        self.hashes.keep(upload_id, offset + received, hasher)
        return offset + received

    async def finish(self, name: str, upload_id: str, digest: Digest) -> None:
        """Verify the whole upload against `digest`, then publish and link it.

        Under the session's lock: a PATCH still appending in another worker
        would otherwise write into the file after it was verified and moved."""
        async with self.locks.hold(upload_id):
            await self._finish(name, upload_id, digest)

    async def _finish(self, name: str, upload_id: str, digest: Digest) -> None:
        size = await self.offset(name, upload_id)
        hasher = await self._hasher(name, upload_id, size, digest.algorithm)
        try:
            _check_digest(hasher, digest)
        except OciError:
            await self._remove(name, upload_id)  # a failed session is not resumable
            raise
        if size == 0 and not await self.driver.exists(paths.upload_data(name, upload_id)):
            await self.driver.put_content(paths.upload_data(name, upload_id), b"")
        await self.blobs.adopt(paths.upload_data(name, upload_id), digest)
        await self.blobs.link(name, digest)
        await self._remove(name, upload_id)

    async def cancel(self, name: str, upload_id: str) -> None:
        async with self.locks.hold(upload_id):
            await self.offset(name, upload_id)  # raises when unknown
            await self._remove(name, upload_id)

    async def _remove(self, name: str, upload_id: str) -> None:
        try:
            await self.driver.delete(paths.upload_dir(name, upload_id))
        except PathNotFound:
            pass

    async def _hasher(self, name: str, upload_id: str, offset: int, algorithm: str):
        cached = self.hashes.take(upload_id, offset, algorithm)
        if cached is not None:
            return cached
        hasher = hashlib.new(algorithm)
        if offset:
            stream = self.driver.read_stream(paths.upload_data(name, upload_id), 0, offset)
            async for chunk in stream:
                hasher.update(chunk)
        return hasher
