"""Blob bytes read by blocking `readinto` in worker threads: a response body
still in its socket (puller/http/response.py) or a file of a layout
(FileStream). Either is iterated in chunks or pumped into a file through a
verifier.

Why threads: hashlib, file writes and socket reads all release the GIL, so a
download that runs socket -> hash -> file in one worker thread uses a core of
its own, and the event loop only hears about progress. (aiohttp's stream
reader, which the client used before commit 90490c1, copied every socket
read into a small bytes object and passed it through the event loop.)
"""
from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator

from ocispec.digest import Verifier
from ocispec.verified import copy_verified

BLOCK = 1024 * 1024  # the readinto buffer, and the size of chunks

# Blocking I/O runs here rather than in the loop's default executor, whose
# few threads long downloads would otherwise all occupy.
_io_threads: ThreadPoolExecutor | None = None

Sent = Callable[[int], None]


async def in_io_thread(function: Callable, *args):
    global _io_threads
    if _io_threads is None:
        _io_threads = ThreadPoolExecutor(max_workers=64, thread_name_prefix="pyreg-io")
    return await asyncio.get_running_loop().run_in_executor(_io_threads, function, *args)


async def until_done(function: Callable, *args, abort: Callable[[], None]):
    """Run a blocking function in an I/O thread. If the caller is cancelled,
    `abort` makes the function return early and the caller waits for it, so
    that nothing it uses (a file, a socket) is closed under it."""
    work = asyncio.ensure_future(in_io_thread(function, *args))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        abort()
        await asyncio.wait([work])
        if not work.cancelled():
            work.exception()  # the aborted function's error: expected, and not the news
        raise


class BlobStream:
    """Bytes to read with blocking `readinto` (0 at the end). `length` is
    how many are still to come, when known."""

    length: int | None = None

    def readinto(self, view: memoryview) -> int:
        raise NotImplementedError

    def abort(self) -> None:
        """Make a blocked readinto return at once (from any thread)."""

    def close(self) -> None:
        """Let go of what holds the bytes; the stream cannot be read after."""

    def _read_block(self, size: int) -> bytearray:
        block = bytearray(size if self.length is None else min(size, self.length))
        view, filled = memoryview(block), 0
        while filled < len(block) and (count := self.readinto(view[filled:])):
            filled += count
        del view
        del block[filled:]
        return block

    async def read(self, limit: int) -> bytes:
        """Up to `limit` bytes, for small documents (manifests, error bodies)."""
        try:
            return bytes(await until_done(self._read_block, limit, abort=self.abort))
        finally:
            self.close()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.chunks()

    async def chunks(self, size: int = BLOCK) -> AsyncIterator[bytes]:
        """Blocks of `size` bytes (the last may be shorter), read in I/O
        threads; the stream is closed at the end or when abandoned."""
        try:
            while self.length != 0 and (block := await until_done(self._read_block, size,
                                                                   abort=self.abort)):
                yield block
        finally:
            self.close()

    def _views(self) -> Iterator[memoryview]:
        """The rest of the stream as views of one reused buffer."""
        buffer = memoryview(bytearray(BLOCK if self.length is None else
                                      min(BLOCK, max(self.length, 1))))
        while count := self.readinto(buffer):
            yield buffer[:count]

    def _pump(self, sink, verifier: Verifier, sent: Sent) -> None:
        verifier.refuse_beyond(verifier.size + (self.length or 0))
        copy_verified(self._views(), _Reporting(sink, sent), verifier)

    async def pump_into(self, sink, verifier: Verifier, sent: Sent) -> None:
        """Hash and write the rest of the stream into `sink` in one I/O thread.
        What was written is always what was hashed: a prefix to resume from.
        Bytes past the verifier's expected size raise OciError(SIZE_INVALID)
        before they are written. `sent` hears of every piece, in the event loop."""
        loop = asyncio.get_running_loop()
        try:
            await until_done(self._pump, sink, verifier,
                             lambda count: loop.call_soon_threadsafe(sent, count), abort=self.abort)
        finally:
            self.close()


class _Reporting:
    """A sink that tells `sent` how much it wrote."""

    def __init__(self, sink, sent: Sent):
        self.sink, self.sent = sink, sent

    def write(self, data) -> None:
        self.sink.write(data)
        self.sent(len(data))


class FileStream(BlobStream):
    """A file's bytes from `offset` on (a blob of a layout)."""

    def __init__(self, path: Path, offset: int = 0):
        self._handle = open(path, "rb")
        self._handle.seek(offset)
        self.length = max(0, os.fstat(self._handle.fileno()).st_size - offset)

    def readinto(self, view: memoryview) -> int:
        count = self._handle.readinto(view[:self.length]) if self.length else 0
        self.length -= count
        return count

    def close(self) -> None:
        self._handle.close()
