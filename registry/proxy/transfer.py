"""One blob's transfer from the upstream into storage, while the client
that asked first is fed the same bytes.

The transfer runs as a task of its own: a leader whose client goes away does
not stop it, and followers asking for the same digest meanwhile wait for it
and read the stored blob. The bytes go through ocispec's Verifier on their
way to an uncommitted storage write; they become the blob only when the
digest matched. The leader's feed is a small bounded queue (back-pressure,
never the whole blob in memory), and the feed's last chunk is handed over
only once the digest is known good: a client is never given a complete body
of bytes that do not match. (It is not held back for the commit's fsync:
if the store then fails, the client still got verified bytes.)
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from ocispec.digest import Digest, Verifier
from ocispec.errors import OciError
from ocispec.verified import CHUNK, copy_verified_async
from storage_backends.base import StorageError

from .. import paths
from ..store import RegistryStore
from .errors import UpstreamError, UpstreamLied, UpstreamNotFound
from .upstream import UpstreamClient

log = logging.getLogger("pyreg.registry.proxy")
FEED_DEPTH = 4  # chunks queued for the leader's client: 4 MiB at most
END = None


class Transfer:
    def __init__(self, store: RegistryStore, client: UpstreamClient, name: str, digest: Digest):
        self.store, self.client, self.name, self.digest = store, client, name, digest
        loop = asyncio.get_running_loop()
        self.size: asyncio.Future[int] = loop.create_future()   # once the upstream answered
        self.done: asyncio.Future[None] = loop.create_future()  # stored, or the error
        self.feed: asyncio.Queue | None = asyncio.Queue(FEED_DEPTH)
        self.verified = False  # the digest matched: the leader may send its last chunk

    def detach(self) -> None:
        """The leader's client is gone: the transfer goes on without it."""
        feed, self.feed = self.feed, None
        while feed is not None and not feed.empty():
            feed.get_nowait()  # wakes a transfer blocked on the full queue

    async def run(self) -> None:
        try:
            await self._copy()
            self.done.set_result(None)
        except BaseException as error:
            failure = self._failure(error)
            _fail(self.size, failure)
            _fail(self.done, failure)
            if not isinstance(error, Exception):
                raise
        finally:
            if not self.verified:
                await self._put(END)

    def _failure(self, error: BaseException) -> UpstreamError:
        """What went wrong as an UpstreamError, logged in one line (a traceback
        only for what nobody foresaw)."""
        if isinstance(error, OciError):  # the Verifier's: wrong size or digest
            log.error("proxy: upstream sent wrong bytes for %s in %s (%s); not cached",
                      self.digest, self.name, error.message)
            return UpstreamLied(error.message)
        if isinstance(error, UpstreamError):
            if not isinstance(error, UpstreamNotFound):
                log.warning("proxy: %s for %s not fetched: %s", self.digest, self.name, error.reason)
            return error
        if isinstance(error, Exception):
            log.error("proxy: fetching %s for %s failed", self.digest, self.name, exc_info=error)
        return UpstreamError(f"the transfer failed ({error.__class__.__name__})")

    async def _copy(self) -> None:
        async with self.client.open("GET", self.name, f"blobs/{self.digest}") as response:
            size = response.content_length
            self.size.set_result(size)
            verifier = Verifier(self.digest, size)
            key, writer = await self._writer()
            try:
                await copy_verified_async(response.content.iter_chunked(CHUNK), _Fanout(self, writer),
                                          verifier)
                verifier.verify()
                # The client's last chunk goes now: the fsync of the commit
                # need not hold it back, the bytes are known good.
                self.verified = True
                await self._put(END)
                await writer.commit()
            except BaseException:
                await writer.cancel()
                raise
        await self.store.blobs.adopt(key, self.digest)
        await self.store.blobs.link(self.name, self.digest)

    async def _writer(self):
        """A new staging write. The previous transfer's commit prunes the
        `_uploads` directory it leaves empty, and can race the making of this
        one's (seen as ENOENT on a loaded machine): a second try settles it."""
        for _ in range(2):
            key = paths.upload_data(self.name, str(uuid.uuid4()))
            with contextlib.suppress(StorageError):
                return key, await self.store.driver.writer(key)
        key = paths.upload_data(self.name, str(uuid.uuid4()))
        return key, await self.store.driver.writer(key)

    async def _put(self, item) -> None:
        if self.feed is not None:
            await self.feed.put(item)


class _Fanout:
    """The transfer's sink: the leader's feed, then storage (the client
    need not wait for the disk)."""

    def __init__(self, transfer: Transfer, writer):
        self.transfer, self.writer = transfer, writer

    async def write(self, chunk: bytes) -> None:
        await self.transfer._put(chunk)
        await self.writer.write(chunk)


def _fail(future: asyncio.Future, error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
        future.exception()  # retrieved: nobody may be waiting for it
