"""Verified copies: bytes go from a source to a sink through a Verifier, so
that when a copy ends what the sink holds is what was hashed, and never more
than the expected size (the Verifier refuses the excess before it is stored).

Two drivers of the one copy, for the two ways bytes arrive:

- `copy_verified`, blocking: for worker threads and plain code (the client's
  socket-to-file pump, `pyreg load` and `save`, a resumed download's prefix).
  hashlib and file writes release the GIL, so a copy running in its own
  thread keeps a core busy without the event loop.
- `copy_verified_async`, in the event loop: for the registry, whose bytes
  come from aiohttp and go to an async storage writer. It gathers the
  socket reads into batches of BATCH bytes and hashes each batch in a
  thread while the loop stores it and receives the next.

The batching, measured with a 256 MiB monolithic PUT to `pyreg serve`
(bench/registry_put.py, bench/registry.py's PUT row, on this 2-core machine
busy with other work: medians of 12 to 20 rounds alternating the variants):
batches of 1 or 2 MiB lost 14-25% to thread hops; 4 MiB with the next
batch received while the last is hashed came out 8% ahead, on average over
three sittings, of hashing and storing one 4 MiB batch at a time (the
design before); 8 and 16 MiB were no better than 4 and hold more per
upload. Peak RSS for 8 concurrent 1 GiB uploads: 121 MiB against 113
before (two batches in flight instead of one).
"""
from __future__ import annotations

import asyncio
from typing import AsyncIterable, Callable, Iterable, Iterator, Protocol

from .digest import Verifier

CHUNK = 1 << 20  # what read_chunks asks for: hashlib releases the GIL over large buffers
BATCH = 4 << 20
INLINE_LIMIT = 64 << 10  # a thread hop costs more than hashing this much


class Sink(Protocol):
    def write(self, data, /): ...


class AsyncSink(Protocol):
    async def write(self, data: bytes, /) -> None: ...


def read_chunks(read: Callable[[int], bytes], limit: int | None = None,
                size: int = CHUNK) -> Iterator[bytes]:
    """Chunks of `read(size)` until it returns nothing, or `limit` bytes."""
    while limit is None or limit > 0:
        chunk = read(size if limit is None else min(size, limit))
        if not chunk:
            return
        if limit is not None:
            limit -= len(chunk)
        yield chunk


def copy_verified(chunks: Iterable, sink: Sink | None, verifier: Verifier) -> int:
    """Hash each chunk, then write it to `sink` (None: only hash). Returns the
    bytes copied. A chunk may be a view of a buffer the source reuses: it is
    hashed and written before the next one is asked for."""
    copied = 0
    for chunk in chunks:
        verifier.update(chunk)
        if sink is not None:
            sink.write(chunk)
        copied += len(chunk)
    return copied


async def copy_verified_async(chunks: AsyncIterable[bytes], sink: AsyncSink | None,
                              verifier: Verifier) -> int:
    """The same copy for bytes arriving in the event loop. A batch is a list of
    the chunks received, not a joined copy (every copy of an upload's bytes
    costs CPU); the excess is refused before a batch is stored. A batch is
    hashed in a thread while the loop stores it and receives the next."""
    hashing, copied, batch, batched = _Hashing(verifier), 0, [], 0
    async for chunk in chunks:
        hashing.verifier.refuse_beyond(hashing.started + batched + len(chunk))
        batch.append(chunk)
        batched += len(chunk)
        if batched >= BATCH:
            await hashing.start(batch, batched)
            await _write_all(sink, batch)
            copied, batch, batched = copied + batched, [], 0
    await hashing.start(batch, batched)
    await _write_all(sink, batch)
    await hashing.settle()
    return copied + batched


class _Hashing:
    """Batches hashed one after the other, each in a thread of its own."""

    def __init__(self, verifier: Verifier):
        self.verifier = verifier
        self.running: asyncio.Future | None = None
        self.started = verifier.size  # bytes hashed or being hashed

    async def start(self, batch: list[bytes], size: int) -> None:
        await self.settle()
        self.started += size
        if size < INLINE_LIMIT:
            copy_verified(batch, None, self.verifier)
        else:
            self.running = asyncio.ensure_future(asyncio.to_thread(copy_verified, batch, None,
                                                                   self.verifier))

    async def settle(self) -> None:
        running, self.running = self.running, None
        if running is not None:
            await running


async def _write_all(sink: AsyncSink | None, batch: list[bytes]) -> None:
    if sink is not None:
        for chunk in batch:
            await sink.write(chunk)
