"""Units of the fast paths against real local servers: socket-to-file
downloads (fastget), sendfile uploads (fastsend) and the TLS probe."""
import asyncio
import hashlib
import io
import os

import pytest
from aiohttp import web

from ocispec.digest import Verifier
from puller import fastget, fastsend
from tests.puller.tls import self_signed, server_context


@pytest.fixture
async def upload_server(aiohttp_server):
    """Takes PUT /ok (answering 201 with what arrived) and PUT /hangup (closing
    the connection midway, as a registry that gives up would)."""
    received = {}

    async def ok(request):
        digest, size = hashlib.sha256(), 0
        async for chunk in request.content.iter_chunked(1 << 16):
            digest.update(chunk)
            size += len(chunk)
        received.update(digest=digest.hexdigest(), size=size)
        return web.Response(status=201, headers={"Location": "/v2/done"})

    async def hangup(request):
        await request.content.read(100_000)
        request.transport.close()
        return web.Response(status=500)

    app = web.Application(client_max_size=1 << 30)
    app.router.add_put("/ok", ok)
    app.router.add_put("/hangup", hangup)
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}", received


async def test_file_body_arrives_whole_in_pieces(tmp_path, upload_server, monkeypatch):
    base, received = upload_server
    monkeypatch.setattr(fastsend, "SEND_PIECE", 1 << 20)  # several sendfile calls
    data = os.urandom(3_500_000)
    (tmp_path / "blob").write_bytes(data)
    progress = []
    answer = await fastsend.send("PUT", f"{base}/ok", {}, False,
                                 file=fastsend.FileBody(tmp_path / "blob", len(data)),
                                 advance=progress.append)
    await asyncio.sleep(0)  # progress arrives through the loop
    assert answer.status == 201 and answer.headers["location"] == "/v2/done"
    assert received == {"digest": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert sum(progress) == len(data) and len(progress) >= 4


async def test_broken_upload_returns_none_and_takes_progress_back(tmp_path, upload_server):
    base, _ = upload_server
    (tmp_path / "blob").write_bytes(os.urandom(20_000_000))
    progress = []
    answer = await fastsend.send("PUT", f"{base}/hangup", {}, False,
                                 file=fastsend.FileBody(tmp_path / "blob", 20_000_000),
                                 advance=progress.append)
    await asyncio.sleep(0.05)
    assert answer is None and sum(progress) == 0


async def test_file_of_the_wrong_size_is_not_sent(tmp_path, upload_server):
    base, received = upload_server
    (tmp_path / "blob").write_bytes(b"x" * 1000)
    answer = await fastsend.send("PUT", f"{base}/ok", {}, False,
                                 file=fastsend.FileBody(tmp_path / "blob", 999))
    assert answer is None and received == {}


async def test_tls_probe_tells_tls_from_plain_http(tmp_path, aiohttp_server):
    plain = await aiohttp_server(web.Application())
    cert, key = self_signed(tmp_path, "probe")
    secure = await aiohttp_server(web.Application(), ssl=server_context(cert, key))
    assert await fastget.speaks_tls(f"127.0.0.1:{secure.port}") is True
    port = plain.port
    assert await fastget.speaks_tls(f"127.0.0.1:{port}") is False
    await plain.close()
    assert await fastget.speaks_tls(f"127.0.0.1:{port}") is False  # nothing listens


@pytest.fixture
async def body_server(aiohttp_server):
    """GET /whole answers 2.5 MB; GET /cut promises 1 MB and hangs up after 300 kB."""
    data = os.urandom(2_500_000)

    async def whole(request):
        return web.Response(body=data)

    async def cut(request):
        response = web.StreamResponse(headers={"Content-Length": "1000000"})
        await response.prepare(request)
        await response.write(data[:300_000])
        request.transport.close()
        return response

    app = web.Application()
    app.router.add_get("/whole", whole)
    app.router.add_get("/cut", cut)
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}", data


async def test_body_is_pumped_into_a_file_hashed(body_server):
    base, data = body_server
    answer, body = await fastget.fast_get(f"{base}/whole", {}, False)
    target, verifier, progress = io.BytesIO(), Verifier(), []
    await fastget.in_io_thread(body.pump_into, target, verifier, progress.append)
    body.close()
    assert answer.status == 200 and target.getvalue() == data
    assert verifier.digest().encoded == hashlib.sha256(data).hexdigest() and sum(progress) == len(data)


async def test_broken_body_leaves_exactly_the_hashed_prefix(body_server):
    base, data = body_server
    _, body = await fastget.fast_get(f"{base}/cut", {}, False)
    target, verifier = io.BytesIO(), Verifier()
    with pytest.raises(fastget.FastGetError, match="download interrupted"):
        await fastget.in_io_thread(body.pump_into, target, verifier, lambda count: None)
    body.close()
    assert target.getvalue() == data[:300_000] and verifier.size == 300_000


async def test_body_iterates_in_blocks(body_server):
    base, data = body_server
    _, body = await fastget.fast_get(f"{base}/whole", {}, False)
    blocks = [bytes(block) async for block in body]
    assert b"".join(blocks) == data and len(blocks) == 3


async def test_unplain_answers_are_left_to_the_general_path(body_server):
    base, _ = body_server
    assert await fastget.fast_get(f"{base}/missing", {}, False) is None  # 404
