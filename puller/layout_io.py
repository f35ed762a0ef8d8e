"""Reading and writing blobs of an OCI layout: downloads land in `ingest/`,
are verified while streaming, resume from a partial file, and only a blob
whose bytes match its digest is renamed into `blobs/`."""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from typing import AsyncIterator, Awaitable, Callable

from ocispec.descriptor import Descriptor
from ocispec.digest import Verifier
from ocispec.errors import OciError
from ocispec.layout import OciLayout

from .errors import Interrupted, PullerError
from .fastget import SocketBody, in_io_thread

CHUNK = 4 * 1024 * 1024
BATCH = 4 * 1024 * 1024
RESUME_ATTEMPTS = 4
EARLY_SYNC = 32 * 1024 * 1024

# open_blob(descriptor, offset) -> (offset the stream really starts at, chunks)
Opener = Callable[[Descriptor, int], Awaitable[tuple[int, AsyncIterator[bytes]]]]
Advance = Callable[[int], None]


class BlobMismatch(PullerError):
    """Downloaded bytes did not match the descriptor; nothing was stored."""

    def __init__(self, message: str, resumed: bool = False):
        super().__init__(message)
        self.resumed = resumed


async def read_file_chunks(path: os.PathLike, offset: int = 0) -> AsyncIterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(offset)
        while chunk := handle.read(CHUNK):
            yield chunk


def _open_locked_partial(layout: OciLayout, descriptor: Descriptor):
    """Open and lock this blob's partial file. Returns None when the blob
    arrived meanwhile (another process finished it)."""
    path = layout.ingest_dir / f"{descriptor.digest.algorithm}-{descriptor.digest.encoded}.partial"
    layout.ingest_dir.mkdir(parents=True, exist_ok=True)
    while True:
        handle = open(path, "ab+")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        if layout.has_blob(descriptor.digest):
            with contextlib.suppress(FileNotFoundError):
                if os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino:
                    os.unlink(path)
            handle.close()
            return None
        try:
            same = os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return path, handle
        handle.close()  # renamed or removed under us: open the new one


def _rehash_prefix(handle, verifier: Verifier, size: int) -> None:
    handle.seek(0)
    remaining = size
    while remaining:
        chunk = handle.read(min(CHUNK, remaining))
        if not chunk:
            break
        verifier.update(chunk)
        remaining -= len(chunk)


def _write_and_hash(handle, verifier: Verifier, chunks: list[bytes], sync: bool = False) -> None:
    before = verifier.size
    for chunk in chunks:
        handle.write(chunk)
        verifier.update(chunk)
    if sync and before // EARLY_SYNC != verifier.size // EARLY_SYNC:
        # push data to disk while the download goes on, so that the final
        # fsync (before the rename) has little left to wait for
        handle.flush()
        os.fdatasync(handle.fileno())


async def ingest_blob(layout: OciLayout, descriptor: Descriptor, open_blob: Opener,
                      advance: Advance, sync: bool = True) -> str:
    """Download one blob into the layout. Returns "exists", "resumed" or "pulled"."""
    locked = await asyncio.to_thread(_open_locked_partial, layout, descriptor)
    if locked is None:
        advance(descriptor.size)
        return "exists"
    path, handle = locked
    try:
        return await _fill_with_retries(layout, descriptor, open_blob, advance, path, handle, sync)
    except BlobMismatch:
        os.unlink(path)  # still ours: we hold its lock
        raise
    finally:
        handle.close()  # closing drops the flock


async def _fill_with_retries(layout, descriptor, open_blob, advance, path, handle, sync) -> str:
    """Resume after a broken stream; start over once if a resumed blob turns
    out wrong (the partial file may hold another run's bad bytes)."""
    restarted = False
    for attempt in range(RESUME_ATTEMPTS):
        try:
            return await _fill(layout, descriptor, open_blob, advance, path, handle, sync)
        except Interrupted:
            if attempt == RESUME_ATTEMPTS - 1:
                raise
            advance(-_written(handle))
            await asyncio.sleep(0.2 * 2 ** attempt)
        except BlobMismatch as err:
            if not err.resumed or restarted:
                raise
            advance(-descriptor.size)
            handle.truncate(0)
            restarted = True
    raise Interrupted(f"blob {descriptor.digest}: download kept breaking off")


def _written(handle) -> int:
    handle.flush()
    return os.fstat(handle.fileno()).st_size


async def _fill(layout, descriptor, open_blob, advance, path, handle, sync) -> str:
    size = os.fstat(handle.fileno()).st_size
    if size > descriptor.size:
        handle.truncate(0)
        size = 0
    verifier = Verifier(descriptor.digest, descriptor.size)
    if size < descriptor.size or descriptor.size == 0:
        start, chunks = await open_blob(descriptor, size)
        if start != size:
            handle.truncate(start)
            size = start
    else:
        chunks = _nothing()  # a complete partial from an earlier run: just verify it
    if size:
        await asyncio.to_thread(_rehash_prefix, handle, verifier, size)
    handle.seek(size)
    advance(size)
    if isinstance(chunks, SocketBody):
        await _pump(handle, verifier, chunks, advance, sync)
    else:
        await _stream_into(handle, verifier, chunks, advance, sync)
    handle.flush()
    try:
        verifier.verify()
    except OciError as err:
        raise BlobMismatch(f"blob {descriptor.digest}: {err.message}", resumed=size > 0) from None
    if sync:
        await asyncio.to_thread(os.fsync, handle.fileno())
    layout.commit_blob(path, descriptor.digest)
    return "resumed" if size else "pulled"


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


async def _pump(handle, verifier: Verifier, body: SocketBody, advance, sync: bool) -> None:
    """Socket to file in one worker thread (fastget): the bytes never visit
    the event loop, which only hears about progress."""
    if verifier.size + body.remaining > verifier.expected_size:
        body.close()
        raise BlobMismatch(f"blob {verifier.expected}: registry sends more than the "
                           f"{verifier.expected_size} bytes its descriptor says")
    syncer = _SyncBehind(handle.fileno(), sync)

    def progress(count: int) -> None:
        advance(count)
        syncer.wrote(count)

    loop = asyncio.get_running_loop()
    pumping = asyncio.ensure_future(
        in_io_thread(body.pump_into, handle, verifier,
                     lambda count: loop.call_soon_threadsafe(progress, count)))
    try:
        await asyncio.shield(pumping)
    except asyncio.CancelledError:
        body.abort()  # the file must not be closed under the writer: let it stop first
        await asyncio.wait([pumping])
        raise
    finally:
        if pumping.done():
            body.close()
        await syncer.settle()


class _SyncBehind:
    """Flushes a file being written to disk every EARLY_SYNC bytes, from
    another thread, so that the writer never waits for the disk and the
    fsync before the rename has little left to do."""

    def __init__(self, fd: int, enabled: bool):
        self.fd, self.enabled = fd, enabled
        self.unsynced = 0
        self.running: asyncio.Future | None = None

    def wrote(self, count: int) -> None:
        self.unsynced += count
        if self.enabled and self.unsynced >= EARLY_SYNC and \
                (self.running is None or self.running.done()):
            self.unsynced = 0
            self.running = asyncio.ensure_future(asyncio.to_thread(os.fdatasync, self.fd))

    async def settle(self) -> None:
        """Wait for a flush in flight (the file is closed after this); its
        errors do not matter, the final fsync reports them."""
        if self.running is not None:
            await asyncio.gather(self.running, return_exceptions=True)


async def _stream_into(handle, verifier: Verifier, chunks: AsyncIterator[bytes], advance,
                       sync: bool = True) -> None:
    """Hash and write in a worker thread (hashlib and write release the GIL)
    while the event loop keeps reading the socket."""
    batch: list[bytes] = []
    batched = 0
    pending: asyncio.Future | None = None
    received = verifier.size  # the resumed prefix
    try:
        async for chunk in chunks:
            received += len(chunk)
            if verifier.expected_size is not None and received > verifier.expected_size:
                raise BlobMismatch(f"blob {verifier.expected}: registry sent more than the "
                                   f"{verifier.expected_size} bytes its descriptor says")
            batch.append(chunk)
            batched += len(chunk)
            if batched >= BATCH:
                if pending is not None:
                    await pending
                pending = asyncio.ensure_future(
                    asyncio.to_thread(_write_and_hash, handle, verifier, batch, sync))
                advance(batched)
                batch, batched = [], 0
    finally:
        if pending is not None:
            await pending  # never close the file under a running writer
        # what arrived before a break is a valid prefix: keep it to resume from
        _write_and_hash(handle, verifier, batch)
        advance(batched)


def write_small_blob(layout: OciLayout, data: bytes, descriptor: Descriptor) -> None:
    """Store a manifest or config already held (and verified) in memory."""
    if not layout.has_blob(descriptor.digest):
        digest = layout.write_blob(data)
        if digest != descriptor.digest:
            raise BlobMismatch(f"content {digest} does not match {descriptor.digest}")
