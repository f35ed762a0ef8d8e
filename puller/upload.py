"""How a blob gets into a registry: mounted across repositories when
possible, else POST a session, PATCH the bytes (a local file by sendfile,
or a stream in pieces of PATCH_SIZE, never read whole), PUT the digest.

The bytes go in PATCHes, not in the final PUT, so that the registry has
acknowledged them before the commit: Distribution 2.8.2 cancels a session
(DELETE) only with the Location of its last acknowledged piece, and a
commit whose digest it refuses must be cancelled. An upload that fails is
cancelled; one that met a network failure starts over in a new session."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator, Callable

from ocispec.descriptor import Descriptor
from ocispec.digest import Digest

from .errors import BlobMismatch, Unreachable
from .http.request import FileBody, StreamBody
from .remote import RemoteRepository

PATCH_SIZE = 128 * 1024 * 1024
UPLOAD_ATTEMPTS = 3
CANCEL_TIMEOUT = 10

Advance = Callable[[int], None]
Chunks = Callable[[], AsyncIterator[bytes]]


class ChunkFeeder:
    """Cuts one stream of chunks into consecutive pieces of exact sizes."""

    def __init__(self, chunks: AsyncIterator[bytes]):
        self._chunks = chunks.__aiter__()
        self._left = b""

    async def take(self, count: int) -> AsyncIterator[bytes]:
        while count > 0:
            if not self._left:
                try:
                    self._left = await self._chunks.__anext__()
                except StopAsyncIteration:
                    raise BlobMismatch("blob source ended before its descriptor's size") from None
            piece, self._left = self._left[:count], self._left[count:]
            count -= len(piece)
            yield piece

    async def drain(self) -> None:
        """Run the source to its end, so that a verifying source checks its digest."""
        async for chunk in self._chunks:
            if chunk:
                raise BlobMismatch("blob source is longer than its descriptor says")


async def upload_blob(repo: RemoteRepository, descriptor: Descriptor, *, file: Path | None,
                      chunks: Chunks, advance: Advance, mount_from: str | None = None) -> str:
    """Put one blob into `repo`; returns how ("mounted" or "pushed")."""
    origin = mount_from if mount_from and mount_from != repo.name else None
    attempt = 1
    while True:
        location = await _start(repo, descriptor.digest if origin else None, origin, advance)
        if location is None:
            advance(descriptor.size)
            return "mounted"
        session = _Session(repo, location, advance)
        try:
            await session.send(descriptor, file, chunks)
            await repo.commit_upload(session.location, descriptor.digest)
            return "pushed"
        except BaseException as err:
            await session.cancel()
            if not isinstance(err, Unreachable) or attempt == UPLOAD_ATTEMPTS:
                raise
        attempt += 1


async def _start(repo: RemoteRepository, mount: Digest | None, origin: str | None,
                 advance: Advance) -> str | None:
    """POST a session (see RemoteRepository.start_upload). Cancelled while
    the registry answers, the session it opened is cancelled in turn."""
    starting = asyncio.ensure_future(repo.start_upload(mount, origin))
    try:
        return await asyncio.shield(starting)
    except asyncio.CancelledError:
        if await _carried_through(starting) is not None:
            await _Session(repo, starting.result(), advance).cancel()
        raise


async def _carried_through(task: asyncio.Future):
    """Wait for `task` (CANCEL_TIMEOUT at most) even if this caller is
    cancelled meanwhile; then its result, None if it failed, and the
    cancellation, if one came, goes on."""
    loop, cancelled = asyncio.get_running_loop(), False
    deadline = loop.time() + CANCEL_TIMEOUT
    while not task.done() and loop.time() < deadline:
        try:
            await asyncio.wait([task], timeout=deadline - loop.time())
        except asyncio.CancelledError:
            cancelled = True
    if not task.done():
        task.cancel()
    result = None if task.cancelled() or task.exception() else task.result()
    if cancelled:
        raise asyncio.CancelledError
    return result


class _Session:
    """One upload session: its Location follows the registry's answers, so
    that a cancel names the state the registry last acknowledged."""

    def __init__(self, repo: RemoteRepository, location: str, advance: Advance):
        self.repo, self.location, self.advance = repo, location, advance
        self.acknowledged = 0

    async def patch(self, body, offset: int, count: int) -> None:
        self.location = await self.repo.patch_upload(self.location, body, offset)
        self.acknowledged += count

    async def send(self, descriptor: Descriptor, file: Path | None, chunks: Chunks) -> None:
        """PATCH the blob's bytes: a file in one piece, a stream in PATCH_SIZE ones."""
        if file is not None:
            await self.patch(FileBody(file, descriptor.size, self.advance), 0, descriptor.size)
            return
        feeder, offset = ChunkFeeder(chunks()), 0
        while offset < descriptor.size:
            count = min(PATCH_SIZE, descriptor.size - offset)
            piece = feeder.take(count)
            await self.patch(StreamBody(lambda piece=piece: piece, count, self.advance), offset, count)
            offset += count
        await feeder.drain()

    async def cancel(self) -> None:
        """Best effort, bounded in time, and carried through even when the
        copy is being cancelled (a sibling blob failed): the failure that led
        here is what the user needs to hear about. Progress starts over."""
        self.advance(-self.acknowledged)
        await _carried_through(asyncio.ensure_future(self.repo.cancel_upload(self.location)))
