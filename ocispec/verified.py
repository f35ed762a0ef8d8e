"""Verified copies: bytes go from a source to a sink through a Verifier, so
that what the sink holds is always what was hashed, and never more than the
expected size (the Verifier refuses the excess before it is stored).

Two drivers of the one copy, for the two ways bytes arrive:

- `copy_verified`, blocking: for worker threads and plain code (the client's
  socket-to-file pump, `pyreg load` and `save`, a resumed download's prefix).
  hashlib and file writes release the GIL, so a copy running in its own
  thread keeps a core busy without the event loop.
- `copy_verified_async`, in the event loop: for the registry, whose bytes
  come from aiohttp and go to an async storage writer. It hashes in a thread
  while the sink writes, in batches of BATCH bytes.

Measured on this 2-core machine (sha256 about 1.4 GB/s over 1 MiB buffers),
a 256 MiB monolithic PUT to `pyreg serve` (bench/registry.py's row) arrives
in socket reads of 64-256 KiB: hashing each read inline in the loop gave
the lowest figures, batches of 1 MiB about the same as 4 MiB, and 16 MiB no
better than 4 MiB while holding four times the memory per upload. See
BATCH and INLINE_LIMIT.
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
    costs CPU); the excess is refused before a batch is stored."""
    copied, batch, batched = 0, [], 0
    async for chunk in chunks:
        verifier.refuse_excess(batched + len(chunk))
        batch.append(chunk)
        batched += len(chunk)
        if batched >= BATCH:
            await _store_batch(batch, batched, sink, verifier)
            copied, batch, batched = copied + batched, [], 0
    if batch:
        await _store_batch(batch, batched, sink, verifier)
    return copied + batched


async def _store_batch(batch: list[bytes], size: int, sink: AsyncSink | None,
                       verifier: Verifier) -> None:
    if size < INLINE_LIMIT:
        copy_verified(batch, None, verifier)
        await _write_all(sink, batch)
    else:
        await asyncio.gather(asyncio.to_thread(copy_verified, batch, None, verifier),
                             _write_all(sink, batch))


async def _write_all(sink: AsyncSink | None, batch: list[bytes]) -> None:
    if sink is not None:
        for chunk in batch:
            await sink.write(chunk)
