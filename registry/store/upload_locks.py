"""One writer at a time per upload session, across this host's processes.

Workers of one `pyreg serve` share upload sessions, so two PATCHes for the
same offset, or a PATCH racing the finishing PUT, may land in different
processes. An asyncio lock orders the requests inside a process; a `flock`
on a lock file orders the processes. Lock files are striped by upload id
and never deleted (deleting a lock file someone waits on would let two
holders in), so a few thousand tiny files bound the cost. Waiting polls
instead of blocking a thread, so waiters never starve the thread pool.
"""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import tempfile
import weakref
import zlib
from typing import AsyncIterator

log = logging.getLogger("pyreg.registry")
STRIPES = 4096
_POLL_FIRST, _POLL_MAX = 0.002, 0.05


def default_directory() -> str:
    return os.path.join(tempfile.gettempdir(), f"pyreg-upload-locks-{os.getuid()}")


class UploadLocks:
    def __init__(self, directory: str | None = None):
        self._local: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.directory: str | None = directory or default_directory()
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            if os.stat(self.directory).st_uid != os.getuid():
                raise PermissionError(f"{self.directory} belongs to another user")
        except OSError as error:
            log.warning("no cross-process upload locks (%s); workers will not serialize "
                        "racing chunks of one upload", error)
            self.directory = None

    def _path(self, upload_id: str) -> str:
        stripe = zlib.crc32(upload_id.encode()) % STRIPES
        return os.path.join(self.directory, f"{stripe:04d}.lock")

    @contextlib.asynccontextmanager
    async def hold(self, upload_id: str) -> AsyncIterator[None]:
        local = self._local.setdefault(upload_id, asyncio.Lock())
        async with local:
            if self.directory is None:
                yield
                return
            fd = os.open(self._path(upload_id), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                await _flock(fd)
                yield
            finally:
                os.close(fd)  # closing the descriptor releases the flock


async def _flock(fd: int) -> None:
    delay = _POLL_FIRST
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            await asyncio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)
