"""Reading and writing blobs of an OCI layout: downloads land in `ingest/`,
are verified while streaming, resume from a partial file, and only a blob
whose bytes match its digest is renamed into `blobs/`."""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from typing import Awaitable, Callable

from ocispec.descriptor import Descriptor
from ocispec.digest import Verifier
from ocispec.errors import OciError
from ocispec.layout import OciLayout
from ocispec.verified import copy_verified, read_chunks

from .errors import BlobMismatch, Interrupted
from .streams import BlobStream

RESUME_ATTEMPTS = 4
EARLY_SYNC = 32 * 1024 * 1024

# open_blob(descriptor, offset) -> (offset the stream really starts at, stream)
Opener = Callable[[Descriptor, int], Awaitable[tuple[int, BlobStream]]]
Advance = Callable[[int], None]


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
    copy_verified(read_chunks(handle.read, size), None, verifier)


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
    stream = None  # none when a complete partial from an earlier run is only verified
    if size < descriptor.size or descriptor.size == 0:
        start, stream = await open_blob(descriptor, size)
        if start != size:
            handle.truncate(start)
            size = start
    try:
        if size:
            await asyncio.to_thread(_rehash_prefix, handle, verifier, size)
        handle.seek(size)
        advance(size)
        if stream is not None:
            await _pump(handle, verifier, stream, advance, sync)
    except OciError as err:  # more bytes than the descriptor says: no resuming cures that
        raise BlobMismatch(f"blob {descriptor.digest}: {err.message}") from None
    finally:
        if stream is not None:
            stream.close()  # read to its end already, unless something failed
    handle.flush()
    try:
        verifier.verify()
    except OciError as err:
        raise BlobMismatch(f"blob {descriptor.digest}: {err.message}", resumed=size > 0) from None
    if sync:
        await asyncio.to_thread(os.fsync, handle.fileno())
    layout.commit_blob(path, descriptor.digest)
    return "resumed" if size else "pulled"


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


async def _pump(handle, verifier: Verifier, stream: BlobStream, advance: Advance,
                sync: bool) -> None:
    """Stream to file in one I/O thread (a socket's bytes never visit the
    event loop, which only hears about progress), flushed to disk behind."""
    syncer = _SyncBehind(handle.fileno(), sync)

    def progress(count: int) -> None:
        advance(count)
        syncer.wrote(count)

    try:
        await stream.pump_into(handle, verifier, progress)
    finally:
        await syncer.settle()


def write_small_blob(layout: OciLayout, data: bytes, descriptor: Descriptor) -> None:
    """Store a manifest or config held in memory, verified before it is written."""
    if not layout.has_blob(descriptor.digest):
        try:
            layout.write_blob(data, descriptor.digest)
        except OciError as err:
            raise BlobMismatch(err.message) from None
