"""The filesystem backend's writer: bytes staged in a reused page-aligned
buffer and written out in a thread, whole aligned blocks with O_DIRECT.

Copying an upload into the page cache was the largest CPU cost of taking it
in (more than its sha256: on this VM every fresh page-cache page faults),
while a direct write DMAs from the reused buffer. Unaligned heads and tails,
and filesystems without O_DIRECT, take the ordinary buffered path.
"""
from __future__ import annotations

import asyncio
import errno
import fcntl
import mmap
import os

from typing import Callable

from .base import BlobWriter, StorageError, StorageFull

STAGING_SIZE = 4 << 20  # bytes a writer gathers before a write: a multiple of DIRECT_ALIGN
DIRECT_ALIGN = 4096  # O_DIRECT wants buffer, offset and length in whole blocks
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def storage_error(error: OSError, path: str) -> StorageError:
    """An OSError of a write as the driver reports it: a full disk is its own case."""
    if error.errno in NO_SPACE:
        return StorageFull(f"no space left for {path}")
    return StorageError(f"cannot write {path}: {error.strerror or error}")


def fsync_directory(path: str) -> None:
    """Make a rename in `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_directories(directory: str) -> list[str]:
    """Create `directory` and its missing parents; returns the ones made,
    outermost first. A new directory is durable only once its parent is
    fsynced, so whoever commits into it must call `fsync_parents`."""
    missing, path = [], directory
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:
            pass  # made meanwhile by another writer, whose fsync may not have happened yet
    return missing[::-1]


def fsync_parents(directories: list[str]) -> None:
    for directory in dict.fromkeys(directories):
        fsync_directory(os.path.dirname(directory))


class _StagingPool:
    """Page-aligned buffers for direct writes, reused across writers: a fresh
    anonymous mapping costs a page fault per 4 KiB on first touch."""

    def __init__(self, size: int, keep: int):
        self.size, self._keep, self._free = size, keep, []

    def take(self) -> mmap.mmap:
        return self._free.pop() if self._free else mmap.mmap(-1, self.size, flags=mmap.MAP_PRIVATE)

    def give_back(self, buffer: mmap.mmap) -> None:
        if len(self._free) < self._keep:
            self._free.append(buffer)


_STAGING = _StagingPool(STAGING_SIZE, keep=4)


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view):]


class StagedFileWriter(BlobWriter):
    """Stages bytes in a page-aligned buffer and writes it out in a thread,
    one batch at a time; each batch ends on a block boundary of the file, so
    after an append that began mid-block the rest still goes direct.
    commit() still fsyncs: a direct write is not durable by itself."""

    def __init__(self, fd: int, final_path: str, temp_path: str | None, start_size: int,
                 new_directories: list[str] = (), prune: Callable[[str], None] | None = None):
        self._fd = fd
        self._prune = prune  # removes the directories a discarded temp file leaves empty
        self._new_directories = list(new_directories)  # made for this key: fsynced on commit
        self._final_path, self._temp_path = final_path, temp_path  # no temp when appending in place
        self._start_size = start_size
        self.size = start_size
        self._written = start_size  # the file's length: bytes already out of the buffer
        self._buffer: mmap.mmap | None = None
        self._filled = 0
        self._direct = False  # the fd's O_DIRECT flag right now
        self._direct_works = True
        self._flushing: asyncio.Future | None = None
        self._finished = False

    async def write(self, chunk: bytes) -> None:
        if self._finished:
            raise StorageError("write after commit or cancel")
        if self._buffer is None:
            self._buffer = _STAGING.take()
        view, self.size = memoryview(chunk), self.size + len(chunk)
        while view:
            room = STAGING_SIZE - self._written % DIRECT_ALIGN - self._filled
            taken = min(room, len(view))
            self._buffer[self._filled:self._filled + taken] = view[:taken]
            self._filled += taken
            view = view[taken:]
            if taken == room:
                await self._flush()

    async def _flush(self) -> None:
        # shielded: a cancelled request must not leave a thread writing to a
        # descriptor that cancel() closes (the number could be reused)
        self._flushing = asyncio.ensure_future(asyncio.to_thread(self._write_out))
        try:
            await asyncio.shield(self._flushing)
        except OSError as error:
            raise storage_error(error, self._final_path) from None

    async def _settle(self) -> None:
        """Wait out a flush still running in its thread; its error is moot."""
        if self._flushing is not None and not self._flushing.done():
            await asyncio.wait([self._flushing])

    def _write_out(self) -> None:
        """Write the staged bytes at the end of the file: the aligned middle
        directly, an unaligned head or tail through the page cache."""
        with memoryview(self._buffer) as staged:
            data = staged[:self._filled]
            head = min(-self._written % DIRECT_ALIGN, len(data))
            middle = (len(data) - head) // DIRECT_ALIGN * DIRECT_ALIGN
            self._write_part(data[:head], direct=False)
            self._write_part(data[head:head + middle], direct=True)
            self._write_part(data[head + middle:], direct=False)
            data.release()
        self._filled = 0

    def _write_part(self, data: memoryview, direct: bool) -> None:
        if not data:
            return
        direct = direct and self._direct_works
        if direct != self._direct:
            try:
                self._set_direct(direct)
            except OSError:  # e.g. tmpfs: no direct I/O, stay buffered
                self._direct_works, direct = False, False
        try:
            _write_all(self._fd, data)
        except OSError as error:
            if not direct or error.errno != errno.EINVAL:
                raise
            self._direct_works = False  # an alignment the device refuses: nothing was written
            self._set_direct(False)
            _write_all(self._fd, data)
        self._written += len(data)

    def _set_direct(self, direct: bool) -> None:
        flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
        flags = flags | os.O_DIRECT if direct else flags & ~os.O_DIRECT
        fcntl.fcntl(self._fd, fcntl.F_SETFL, flags)
        self._direct = direct

    async def commit(self) -> None:
        if self._finished:
            return
        self._finished = True
        await self._settle()
        try:
            await asyncio.to_thread(self._commit_sync)
        except BaseException as error:
            await asyncio.to_thread(self._discard_sync)
            if isinstance(error, OSError):  # e.g. the key's path is a directory, or no space
                raise storage_error(error, self._final_path) from error
            raise
        if self._buffer is not None:
            _STAGING.give_back(self._buffer)
            self._buffer = None

    def _commit_sync(self) -> None:
        if self._filled:
            self._write_out()
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1
        if self._temp_path is not None:
            os.replace(self._temp_path, self._final_path)
            fsync_directory(os.path.dirname(self._final_path))
            fsync_parents(self._new_directories)

    async def cancel(self) -> None:
        if not self._finished:
            self._finished = True
            await self._settle()
            self._buffer = None
            await asyncio.to_thread(self._discard_sync)

    def _discard_sync(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._temp_path is not None:
            try:
                os.unlink(self._temp_path)
            except FileNotFoundError:
                pass
            if self._prune is not None:
                self._prune(self._temp_path)
        else:
            os.truncate(self._final_path, self._start_size)
