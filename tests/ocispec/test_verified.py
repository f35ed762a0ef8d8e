"""The one Verifier and the verified copies: resumable hash state, the
"longer than its descriptor" rule, and what a sink may hold when it fires."""
import asyncio
import hashlib
import io
import os

import pytest

from ocispec import verified
from ocispec.digest import Digest, Verifier, verify_bytes
from ocispec.errors import ErrorCode, OciError
from ocispec.verified import copy_verified, copy_verified_async, read_chunks

DATA = os.urandom(3 * (1 << 20) + 17)
DIGEST = Digest.of_bytes(DATA)


def test_a_saved_state_resumes_any_number_of_times():
    head = Verifier()
    head.update(DATA[:1000])
    state = head.save()
    head.update(b"bytes after the save do not reach the state")
    for _ in range(2):
        resumed = Verifier.resume(state, DIGEST, len(DATA))
        assert resumed.size == 1000
        resumed.update(DATA[1000:])
        assert resumed.verify() == DIGEST


def test_a_state_resumes_only_its_own_algorithm():
    state = Verifier(algorithm="sha512").save()
    with pytest.raises(ValueError, match="sha512"):
        Verifier.resume(state, DIGEST)


def test_bytes_past_the_expected_size_are_refused_before_they_are_hashed():
    verifier = Verifier(DIGEST, 10)
    verifier.update(b"x" * 8)
    with pytest.raises(OciError) as info:
        verifier.update(b"x" * 3)
    assert info.value.code is ErrorCode.SIZE_INVALID and "longer than the 10 bytes" in info.value.message
    assert verifier.size == 8
    with pytest.raises(OciError):
        verifier.refuse_beyond(11)  # announced, not yet sent
    verifier.refuse_beyond(10)


@pytest.mark.parametrize("data,code", [(DATA[:-1], ErrorCode.SIZE_INVALID),
                                       (b"y" + DATA[1:], ErrorCode.DIGEST_INVALID)])
def test_verify_names_what_is_wrong(data, code):
    verifier = Verifier(DIGEST, len(DATA))
    verifier.update(data)
    assert not verifier.matches()
    with pytest.raises(OciError) as info:
        verifier.verify()
    assert info.value.code is code


def test_bytes_in_memory_are_verified_against_their_algorithm():
    sha512 = Digest("sha512", hashlib.sha512(b"doc").hexdigest())
    assert verify_bytes(b"doc", sha512) == sha512
    with pytest.raises(OciError) as info:
        verify_bytes(b"other", sha512)
    assert info.value.code is ErrorCode.DIGEST_INVALID and info.value.detail == {"digest": str(sha512)}


def test_read_chunks_stops_at_the_limit_or_the_end():
    source = io.BytesIO(DATA)
    assert [len(c) for c in read_chunks(source.read, (1 << 20) + 5)] == [1 << 20, 5]
    assert b"".join(read_chunks(source.read)) == DATA[(1 << 20) + 5:]


def test_copy_writes_what_it_hashed_and_stops_before_the_excess():
    sink, verifier = io.BytesIO(), Verifier(DIGEST, len(DATA) - 100)
    with pytest.raises(OciError):
        copy_verified(read_chunks(io.BytesIO(DATA).read), sink, verifier)
    assert sink.getvalue() == DATA[:2 << 20] and verifier.size == 2 << 20


def test_a_reused_buffer_is_copied_whole():
    buffer = memoryview(bytearray(4096))
    source = io.BytesIO(DATA)

    def views():
        while count := source.readinto(buffer):
            yield buffer[:count]

    sink, verifier = io.BytesIO(), Verifier(DIGEST, len(DATA))
    assert copy_verified(views(), sink, verifier) == len(DATA)
    assert sink.getvalue() == DATA and verifier.verify() == DIGEST


class AsyncSink:
    def __init__(self):
        self.parts = []

    async def write(self, data: bytes) -> None:
        await asyncio.sleep(0)
        self.parts.append(data)


async def arriving(data: bytes, piece: int):
    for start in range(0, len(data), piece):
        yield data[start:start + piece]


@pytest.mark.parametrize("piece", [1000, 64 << 10, 5 << 20])
async def test_async_copy_batches_every_piece_through(piece):
    sink, verifier = AsyncSink(), Verifier(DIGEST, len(DATA))
    assert await copy_verified_async(arriving(DATA, piece), sink, verifier) == len(DATA)
    assert b"".join(sink.parts) == DATA and verifier.verify() == DIGEST


async def test_async_copy_stores_no_batch_that_runs_past_the_size(monkeypatch):
    monkeypatch.setattr(verified, "BATCH", 1 << 20)
    sink, verifier = AsyncSink(), Verifier(DIGEST, (2 << 20) + 10)
    with pytest.raises(OciError) as info:
        await copy_verified_async(arriving(DATA, 1 << 19), sink, verifier)
    assert info.value.code is ErrorCode.SIZE_INVALID
    assert b"".join(sink.parts) == DATA[:2 << 20]


async def test_async_copy_without_a_sink_only_hashes():
    verifier = Verifier(DIGEST)
    assert await copy_verified_async(arriving(DATA, 256 << 10), None, verifier) == len(DATA)
    assert verifier.verify() == DIGEST
