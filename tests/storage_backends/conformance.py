"""The storage-driver conformance suite, written once and run by every backend.

A backend's test module subclasses `StorageDriverConformance` and provides a
`driver` fixture; class attributes tune what differs (how big the large blob
is, whether the backend may hold bytes in memory)."""
from __future__ import annotations

import asyncio
import hashlib
import os
import tracemalloc

import pytest

from storage_backends.base import InvalidKey, PathNotFound, StorageDriver

MiB = 1 << 20
BAD_KEYS = ["", "/abs", "a/../b", "..", "a//b", "a/./b", "trailing/", "back\\slash", "nul\x00"]


async def collect(stream) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def write_in_chunks(driver: StorageDriver, key: str, chunks, append: bool = False) -> int:
    writer = await driver.writer(key, append=append)
    for chunk in chunks:
        await writer.write(chunk)
    await writer.commit()
    return writer.size


def numbered_chunks(count: int, size: int = MiB):
    """Distinct chunks generated one at a time, so the test never holds the whole blob."""
    block = os.urandom(size)
    for number in range(count):
        yield number.to_bytes(8, "big") + block[8:]


class StorageDriverConformance:
    large_blob_mib = 64
    holds_bytes = False  # the memory backend keeps everything; others must stay flat
    peak_memory_limit = 32 * MiB

    async def test_put_get_and_overwrite(self, driver):
        await driver.put_content("a/b/c", b"first")
        assert await driver.get_content("a/b/c") == b"first"
        await driver.put_content("a/b/c", b"second, longer")
        assert await driver.get_content("a/b/c") == b"second, longer"
        await driver.put_content("a/b/c", b"")
        assert await driver.get_content("a/b/c") == b""

    async def test_missing_key_raises_path_not_found(self, driver):
        with pytest.raises(PathNotFound):
            await driver.get_content("no/such/key")
        with pytest.raises(PathNotFound):
            await collect(driver.read_stream("no/such/key"))
        with pytest.raises(PathNotFound):
            await driver.stat("no/such")
        with pytest.raises(PathNotFound):
            await driver.delete("no/such/key")
        with pytest.raises(PathNotFound):
            await driver.move("no/such/key", "other/key")
        assert not await driver.exists("no/such/key")
        assert not await driver.exists("other/key")

    async def test_stat_files_and_directories(self, driver):
        await driver.put_content("dir/sub/file", b"12345")
        info = await driver.stat("dir/sub/file")
        assert (info.key, info.size, info.is_dir) == ("dir/sub/file", 5, False)
        assert info.modified > 0
        for directory in ("dir", "dir/sub"):
            info = await driver.stat(directory)
            assert info.is_dir and info.key == directory
        assert await driver.exists("dir/sub")
        with pytest.raises(PathNotFound):
            await driver.stat("dir/su")  # a prefix of a name is not a directory

    async def test_list_direct_children_sorted(self, driver):
        for key in ("r/b/x", "r/a", "r/c/d/e", "r/ab", "other/z"):
            await driver.put_content(key, b"v")
        assert await driver.list("r") == ["r/a", "r/ab", "r/b", "r/c"]
        assert await driver.list("r/c") == ["r/c/d"]
        assert await driver.list("") == ["other", "r"]
        with pytest.raises(PathNotFound):
            await driver.list("missing")
        with pytest.raises(PathNotFound):
            await driver.list("r/a")  # a file has no children

    async def test_move_replaces_dest_and_removes_source(self, driver):
        await driver.put_content("uploads/1/data", b"new bytes")
        await driver.put_content("blobs/x/data", b"old")
        await driver.move("uploads/1/data", "blobs/x/data")
        assert await driver.get_content("blobs/x/data") == b"new bytes"
        assert not await driver.exists("uploads/1/data")
        await driver.move("blobs/x/data", "fresh/parent/dirs/data")
        assert await driver.get_content("fresh/parent/dirs/data") == b"new bytes"
        assert not await driver.exists("blobs/x/data")

    async def test_delete_key_and_subtree(self, driver):
        for key in ("t/a/1", "t/a/2/3", "t/ab", "t/b"):
            await driver.put_content(key, b"v")
        await driver.delete("t/b")
        assert not await driver.exists("t/b")
        await driver.delete("t/a")
        for gone in ("t/a", "t/a/1", "t/a/2/3", "t/a/2"):
            assert not await driver.exists(gone), gone
        assert await driver.get_content("t/ab") == b"v"  # a sibling sharing the name prefix stays
        assert await driver.list("t") == ["t/ab"]
        await driver.delete("t")
        with pytest.raises(PathNotFound):
            await driver.list("t")

    async def test_read_stream_offset_and_length(self, driver):
        data = bytes(range(256)) * 40  # 10240 bytes
        await driver.put_content("blob", data)
        assert await collect(driver.read_stream("blob")) == data
        assert await collect(driver.read_stream("blob", offset=1000)) == data[1000:]
        assert await collect(driver.read_stream("blob", offset=7, length=300)) == data[7:307]
        assert await collect(driver.read_stream("blob", offset=10000, length=999)) == data[10000:]
        assert await collect(driver.read_stream("blob", offset=len(data))) == b""
        assert await collect(driver.read_stream("blob", offset=3, length=0)) == b""
        chunks = [chunk async for chunk in driver.read_stream("blob", chunk_size=1000)]
        assert b"".join(chunks) == data and max(map(len, chunks)) <= 1000

    async def test_writer_content_visible_only_after_commit(self, driver):
        writer = await driver.writer("w/new")
        await writer.write(b"partial")
        assert not await driver.exists("w/new")
        await writer.commit()
        assert await driver.get_content("w/new") == b"partial"
        assert writer.size == 7

    async def test_cancel_leaves_previous_content(self, driver):
        await driver.put_content("w/key", b"original")
        writer = await driver.writer("w/key")
        await writer.write(b"replacement")
        await writer.cancel()
        assert await driver.get_content("w/key") == b"original"
        appender = await driver.writer("w/key", append=True)
        await appender.write(b" plus more" * 1000)
        await appender.cancel()
        assert await driver.get_content("w/key") == b"original"
        fresh = await driver.writer("w/never")
        await fresh.write(b"x")
        await fresh.cancel()
        assert not await driver.exists("w/never")
        assert await driver.list("w") == ["w/key"]

    async def test_append_sessions_with_tiny_chunks(self, driver):
        expected = bytearray()
        for session in range(4):
            pieces = [bytes([session * 16 + i]) for i in range(10)]  # 1-byte writes
            size = await write_in_chunks(driver, "up/data", pieces, append=True)
            expected += b"".join(pieces)
            assert size == len(expected)
        assert await driver.get_content("up/data") == bytes(expected)
        assert (await driver.stat("up/data")).size == len(expected)

    async def test_append_mixing_big_and_small_sessions(self, driver):
        big = os.urandom(6 * MiB + 123)  # above S3's 5 MiB part minimum: a server-side copy there
        expected = hashlib.sha256()
        sessions = [[big], [b"a", b"b", b"c"], [os.urandom(3 * MiB)], [b"z"], [os.urandom(11 * MiB)]]
        total = 0
        for chunks in sessions:
            total = await write_in_chunks(driver, "mix/data", chunks, append=True)
            for chunk in chunks:
                expected.update(chunk)
        assert total == sum(len(c) for s in sessions for c in s)
        actual = hashlib.sha256()
        async for chunk in driver.read_stream("mix/data"):
            actual.update(chunk)
        assert actual.hexdigest() == expected.hexdigest()

    async def test_append_to_missing_key_creates_it(self, driver):
        assert await write_in_chunks(driver, "fresh/data", [b"hello"], append=True) == 5
        assert await driver.get_content("fresh/data") == b"hello"

    async def test_concurrent_writers_to_different_keys(self, driver):
        async def write_one(number: int) -> None:
            chunk = bytes([number]) * 100_000
            await write_in_chunks(driver, f"conc/{number}/data", [chunk] * 5)
        await asyncio.gather(*(write_one(n) for n in range(8)))
        for number in range(8):
            assert await driver.get_content(f"conc/{number}/data") == bytes([number]) * 500_000

    @pytest.mark.parametrize("bad", BAD_KEYS)
    async def test_invalid_keys_are_rejected(self, driver, bad):
        await driver.put_content("ok/key", b"x")  # so only the bad key can make move fail
        for operation in (driver.get_content, driver.delete, driver.writer,
                          lambda key: driver.put_content(key, b"x"),
                          lambda key: driver.move(key, "ok/key"),
                          lambda key: driver.move("ok/key", key),
                          lambda key: collect(driver.read_stream(key))):
            with pytest.raises(InvalidKey):
                await operation(bad)
        if bad:  # '' is the root for stat and list
            with pytest.raises(InvalidKey):
                await driver.stat(bad)
            with pytest.raises(InvalidKey):
                await driver.list(bad)

    async def test_large_blob_streams_in_bounded_memory(self, driver):
        expected = hashlib.sha256()
        tracemalloc.start()
        try:
            writer = await driver.writer("large/data")
            for chunk in numbered_chunks(self.large_blob_mib):
                expected.update(chunk)
                await writer.write(chunk)
            await writer.commit()
            actual, largest = hashlib.sha256(), 0
            async for chunk in driver.read_stream("large/data"):
                actual.update(chunk)
                largest = max(largest, len(chunk))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert actual.hexdigest() == expected.hexdigest()
        assert (await driver.stat("large/data")).size == self.large_blob_mib * MiB
        assert largest <= MiB
        if not self.holds_bytes:
            assert peak < self.peak_memory_limit, f"peak {peak / MiB:.1f} MiB"

    async def test_create_exclusive_lets_exactly_one_racer_in(self, driver):
        """What replicas serialise upload chunks on: of many creators at once,
        one wins, and the key holds its bytes, whole."""
        results = await asyncio.gather(*(driver.create_exclusive("claims/7", b"racer %d" % i)
                                         for i in range(8)))
        assert results.count(True) == 1
        assert await driver.get_content("claims/7") == b"racer %d" % results.index(True)
        assert await driver.create_exclusive("claims/7", b"late") is False
        assert await driver.list("claims") == ["claims/7"]  # no temp left beside it

    async def test_list_after_pages_a_directory_in_order(self, driver):
        for name in ["b", "a", "c-d", "c", "e"]:
            await driver.put_content(f"index/{name}", b"")
        await driver.put_content("index/d/below", b"")
        assert await driver.list_after("index", "", 3) == ["index/a", "index/b", "index/c"]
        assert await driver.list_after("index", "c", 10) == ["index/c-d", "index/d", "index/e"]
        assert await driver.list_after("index", "e", 10) == []
        assert await driver.list_after("missing", "", 10) == []
