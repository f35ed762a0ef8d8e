"""The filesystem writer's staged, O_DIRECT-where-aligned write path: bytes
must land exactly, whatever the chunk sizes and however unaligned an append
starts, and cancel must still restore the key."""
from __future__ import annotations

import errno
import hashlib
import os

import pytest

from storage_backends import staged_writer
from storage_backends.filesystem import FilesystemDriver
from storage_backends.staged_writer import DIRECT_ALIGN, STAGING_SIZE


def _pieces(data: bytes, sizes: list[int]):
    """Split `data` into pieces cycling through `sizes` (odd ones on purpose)."""
    offset, index = 0, 0
    while offset < len(data):
        size = sizes[index % len(sizes)]
        yield data[offset:offset + size]
        offset, index = offset + size, index + 1


async def _read(driver: FilesystemDriver, key: str) -> bytes:
    return b"".join([chunk async for chunk in driver.read_stream(key)])


@pytest.fixture
def driver(tmp_path):
    return FilesystemDriver(tmp_path / "root")


async def test_large_write_in_odd_chunks_lands_exactly(driver):
    data = os.urandom(2 * STAGING_SIZE + 12345)
    writer = await driver.writer("blobs/big")
    for piece in _pieces(data, [1, 4095, 300_001, STAGING_SIZE + 7, 65536]):
        await writer.write(piece)
    assert writer.size == len(data)
    await writer.commit()
    assert hashlib.sha256(await _read(driver, "blobs/big")).digest() == hashlib.sha256(data).digest()


async def test_append_starting_mid_block_lands_exactly(driver):
    head = os.urandom(DIRECT_ALIGN + 1000)  # the append starts 1000 bytes into a block
    await driver.put_content("uploads/u/data", head)
    tail = os.urandom(STAGING_SIZE + 3 * DIRECT_ALIGN + 17)
    writer = await driver.writer("uploads/u/data", append=True)
    assert writer.size == len(head)
    for piece in _pieces(tail, [777_777, 3, DIRECT_ALIGN]):
        await writer.write(piece)
    await writer.commit()
    assert await _read(driver, "uploads/u/data") == head + tail


async def test_cancelled_append_after_direct_writes_restores_the_key(driver):
    head = os.urandom(5000)
    await driver.put_content("uploads/u/data", head)
    writer = await driver.writer("uploads/u/data", append=True)
    await writer.write(os.urandom(2 * STAGING_SIZE))  # flushed to the file before the cancel
    await writer.cancel()
    assert await _read(driver, "uploads/u/data") == head


async def test_aligned_batches_bypass_the_page_cache(driver):
    """The point of the writer: once a full batch went out, the descriptor
    is in O_DIRECT mode (the test storage is a disk filesystem)."""
    writer = await driver.writer("blobs/direct")
    await writer.write(os.urandom(STAGING_SIZE + 1))
    with open(f"/proc/self/fdinfo/{writer._fd}") as info:
        flags = int(next(line for line in info if line.startswith("flags:")).split()[1], 8)
    assert flags & os.O_DIRECT
    await writer.cancel()
    assert not await driver.exists("blobs/direct")


async def test_storage_without_direct_io_still_writes(driver, monkeypatch):
    """A filesystem that refuses O_DIRECT (fcntl fails with EINVAL, as on
    some network and FUSE filesystems): the writer stays buffered."""
    real_fcntl = staged_writer.fcntl.fcntl

    def refuse_direct(fd, command, arg=0):
        if command == staged_writer.fcntl.F_SETFL and arg & os.O_DIRECT:
            raise OSError(errno.EINVAL, "direct I/O not supported")
        return real_fcntl(fd, command, arg)

    monkeypatch.setattr(staged_writer.fcntl, "fcntl", refuse_direct)
    data = os.urandom(2 * STAGING_SIZE + 99)
    writer = await driver.writer("blobs/buffered")
    for piece in _pieces(data, [STAGING_SIZE // 3 + 1]):
        await writer.write(piece)
    await writer.commit()
    assert await _read(driver, "blobs/buffered") == data
