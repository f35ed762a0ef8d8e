"""Blob uploads to a registry: cross-repository mount when possible, one
monolithic PUT for small blobs, chunked PATCHes (streamed, never read whole)
for large ones."""
from __future__ import annotations

from typing import AsyncIterator, Callable
from urllib.parse import urlencode

from ocispec.descriptor import Descriptor
from ocispec.errors import ErrorCode

from .auth import pull_scope
from .remote import RemoteRepository
from .transport import RegistryError, raise_for_status

MONOLITHIC_LIMIT = 8 * 1024 * 1024
PATCH_SIZE = 128 * 1024 * 1024

Advance = Callable[[int], None]


class ChunkFeeder:
    """Cuts one stream of chunks into consecutive pieces of exact sizes."""

    def __init__(self, chunks: AsyncIterator[bytes]):
        self._chunks = chunks.__aiter__()
        self._left = b""

    async def take(self, count: int, advance: Advance) -> AsyncIterator[bytes]:
        while count > 0:
            if not self._left:
                try:
                    self._left = await self._chunks.__anext__()
                except StopAsyncIteration:
                    raise RegistryError("blob source ended early") from None
            piece, self._left = self._left[:count], self._left[count:]
            count -= len(piece)
            advance(len(piece))
            yield piece

    async def drain(self) -> None:
        """Run the source to its end, so that a verifying source checks its digest."""
        async for chunk in self._chunks:
            if chunk:
                raise RegistryError("blob source is longer than its descriptor says")


async def try_mount(repo: RemoteRepository, descriptor: Descriptor, origin: str) -> str | None:
    """Ask the registry to link a blob from `origin` (same host). None when
    mounted, else the upload Location it opened instead."""
    query = urlencode({"mount": str(descriptor.digest), "from": origin})
    response = await repo.transport.request(
        "POST", repo.host, f"/v2/{repo.name}/blobs/uploads/?{query}",
        scopes=(*repo.push_scopes, pull_scope(origin)), headers={"Content-Length": "0"})
    async with response:
        if response.status == 201:
            return None
        await raise_for_status(response, f"mounting {descriptor.digest} into {repo.name}")
        return _location(response)


async def start_upload(repo: RemoteRepository) -> str:
    response = await repo.transport.request("POST", repo.host, f"/v2/{repo.name}/blobs/uploads/",
                                            scopes=repo.push_scopes, headers={"Content-Length": "0"})
    async with response:
        await raise_for_status(response, f"starting an upload to {repo.name}")
        return _location(response)


def _location(response) -> str:
    location = response.headers.get("Location")
    if response.status != 202 or not location:
        raise RegistryError(f"registry answered an upload start with {response.status} "
                            "and no Location", response.status, ErrorCode.BLOB_UPLOAD_INVALID)
    return location


def _with_query(location: str, **params: str) -> str:
    return location + ("&" if "?" in location else "?") + urlencode(params)


async def upload_blob(repo: RemoteRepository, descriptor: Descriptor,
                      chunks: Callable[[], AsyncIterator[bytes]], advance: Advance,
                      mount_from: str | None = None) -> str:
    """Put one blob into `repo`; returns how ("mounted" or "pushed")."""
    if mount_from and mount_from != repo.name:
        location = await try_mount(repo, descriptor, mount_from)
        if location is None:
            advance(descriptor.size)
            return "mounted"
    else:
        location = await start_upload(repo)
    if descriptor.size <= MONOLITHIC_LIMIT:
        # streamed too; each attempt (a retry, an auth challenge) reopens the source
        await _finish(repo, location, descriptor,
                      lambda: ChunkFeeder(chunks()).take(descriptor.size, advance))
        return "pushed"
    feeder = ChunkFeeder(chunks())
    offset = 0
    while offset < descriptor.size:
        count = min(PATCH_SIZE, descriptor.size - offset)
        location = await _patch(repo, location, feeder.take(count, advance), offset, count)
        offset += count
    await feeder.drain()
    await _finish(repo, location, descriptor, None)
    return "pushed"


async def _patch(repo: RemoteRepository, location: str, body: AsyncIterator[bytes],
                 offset: int, count: int) -> str:
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(count),
               "Content-Range": f"{offset}-{offset + count - 1}"}
    response = await repo.transport.request("PATCH", repo.host, location, scopes=repo.push_scopes,
                                            headers=headers, body=lambda: body, replayable=False)
    async with response:
        await raise_for_status(response, f"uploading to {repo.name}")
        return response.headers.get("Location") or location


async def _finish(repo: RemoteRepository, location: str, descriptor: Descriptor, body) -> None:
    headers = {"Content-Type": "application/octet-stream",
               "Content-Length": str(descriptor.size if body is not None else 0)}
    response = await repo.transport.request("PUT", repo.host,
                                            _with_query(location, digest=str(descriptor.digest)),
                                            scopes=repo.push_scopes, headers=headers, body=body)
    async with response:
        await raise_for_status(response, f"committing blob {descriptor.digest} to {repo.name}")
