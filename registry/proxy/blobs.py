"""Blobs through the cache: a blob this repository links is served by the
registry's own handler (sendfile, ranges, redirects); one it does not is
fetched from the upstream once per digest at a time (single flight within
a worker process) and streamed to the first client while it is stored.

A blob already in the global store but not linked here (cached for another
repository, or pushed) is linked only once the upstream confirms this
repository has it: the links are the access boundary, and a client must not
read another repository's blob by naming its digest here.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from aiohttp import web

from ocispec.digest import Digest
from ocispec.errors import ErrorCode

from ..middlewares import API_VERSION_HEADER
from ..store import RegistryStore
from .errors import UpstreamError
from .transfer import END, Transfer
from .upstream import UpstreamClient

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BlobCache:
    def __init__(self, store: RegistryStore):
        self.store = store
        self.transfers: dict[Digest, Transfer] = {}
        self.tasks: set[asyncio.Task] = set()

    async def serve(self, request: web.Request, handler: Handler, client: UpstreamClient,
                    name: str, digest: Digest) -> web.StreamResponse:
        if await self.store.blobs.is_linked(name, digest):
            return await handler(request)
        if request.method == "HEAD":
            return await _head(client, name, digest)
        transfer = self.transfers.get(digest)
        if transfer is None and await self.store.blobs.global_size(digest, fresh=True) is None:
            transfer = self._start(client, name, digest)
            if "Range" not in request.headers:
                return await _lead(request, transfer)
            transfer.detach()  # a range of a blob not yet here: the whole blob first
        if transfer is not None:
            await _outcome(transfer)
        if not await self.store.blobs.is_linked(name, digest):
            await _head(client, name, digest)  # the upstream vouches for it in this repository
            await self.store.blobs.link(name, digest)
        return await handler(request)

    def _start(self, client: UpstreamClient, name: str, digest: Digest) -> Transfer:
        transfer = Transfer(self.store, client, name, digest)
        self.transfers[digest] = transfer
        task = asyncio.create_task(transfer.run())
        self.tasks.add(task)
        task.add_done_callback(lambda done: (self.tasks.discard(done), self.transfers.pop(digest, None)))
        return transfer

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _headers(digest: Digest) -> dict[str, str]:
    return {**API_VERSION_HEADER, "Docker-Content-Digest": str(digest),
            "Content-Type": "application/octet-stream"}


async def _head(client: UpstreamClient, name: str, digest: Digest) -> web.Response:
    try:
        async with client.open("HEAD", name, f"blobs/{digest}") as response:
            size = response.content_length
    except UpstreamError as error:
        raise error.to_oci(ErrorCode.BLOB_UNKNOWN, {"digest": str(digest)}) from None
    headers = _headers(digest)
    if size is not None:
        headers["Content-Length"] = str(size)
    return web.Response(headers=headers)


async def _outcome(transfer: Transfer) -> None:
    """Wait for the transfer (whoever leads it) to store the blob; raises OciError."""
    try:
        await asyncio.shield(transfer.done)
    except UpstreamError as error:
        raise error.to_oci(ErrorCode.BLOB_UNKNOWN, {"digest": str(transfer.digest)}) from None


async def _lead(request: web.Request, transfer: Transfer) -> web.StreamResponse:
    """Stream the transfer's bytes to the client, holding back the last chunk
    until the digest is verified: on a mismatch the connection is cut short."""
    try:
        try:
            size = await asyncio.shield(transfer.size)
        except UpstreamError as error:
            raise error.to_oci(ErrorCode.BLOB_UNKNOWN, {"digest": str(transfer.digest)}) from None
        response = web.StreamResponse(headers=_headers(transfer.digest))
        if size is not None:
            response.content_length = size
        await response.prepare(request)
        pending = None
        while (chunk := await transfer.feed.get()) is not END:
            if pending is not None:
                await response.write(pending)
            pending = chunk
        if not transfer.verified:
            request.transport.close()  # the client sees a body cut short, never a whole wrong one
            return response
        if pending is not None:
            await response.write(pending)
        await response.write_eof()
        return response
    finally:
        transfer.detach()
