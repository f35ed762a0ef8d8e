"""The client's one HTTP stack (puller/http) against real local servers:
sendfile uploads and their progress, socket-to-file downloads, chunked and
read-to-the-close bodies, kept-alive connections (and ones the server
closed while idle), the TLS probe, retries."""
import asyncio
import hashlib
import io
import os

from types import SimpleNamespace

import pytest
from aiohttp import web

from ocispec.digest import Verifier
from puller.errors import CorruptImage, Interrupted, RegistryError
from puller.http import connection
from puller.http.request import FileBody
from puller.http.transport import Transport, TransportOptions
from tests.puller.tls import self_signed, server_context


def peer_port(request: web.Request) -> int:
    return request.transport.get_extra_info("peername")[1]


@pytest.fixture
async def upload_server(aiohttp_server):
    """Takes PUT /ok (answering 201 with what arrived) and PUT /hangup (closing
    the connection midway, as a registry that gives up would)."""
    received, hangups = {}, []

    async def ok(request):
        digest, size = hashlib.sha256(), 0
        async for chunk in request.content.iter_chunked(1 << 16):
            digest.update(chunk)
            size += len(chunk)
        received.update(digest=digest.hexdigest(), size=size)
        return web.Response(status=201, headers={"Location": "/v2/done"})

    async def hangup(request):
        hangups.append(await request.content.read(100_000))
        request.transport.close()
        return web.Response(status=500)

    app = web.Application(client_max_size=1 << 30)
    app.router.add_put("/ok", ok)
    app.router.add_put("/hangup", hangup)
    server = await aiohttp_server(app)
    return f"127.0.0.1:{server.port}", received, hangups


async def test_file_body_arrives_whole_in_pieces(tmp_path, upload_server, monkeypatch):
    host, received, _ = upload_server
    monkeypatch.setattr(connection, "SEND_PIECE", 1 << 20)  # several sendfile calls
    data = os.urandom(3_500_000)
    (tmp_path / "blob").write_bytes(data)
    progress = []
    async with Transport() as transport:
        body = FileBody(tmp_path / "blob", len(data), progress.append)
        async with await transport.request("PUT", host, "/ok", body=body) as response:
            assert response.status == 201 and response.headers.get("Location") == "/v2/done"
    assert received == {"digest": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert sum(progress) == len(data) and len(progress) >= 4


async def test_broken_upload_is_retried_and_its_progress_taken_back(tmp_path, upload_server):
    host, _, hangups = upload_server
    (tmp_path / "blob").write_bytes(os.urandom(20_000_000))
    progress = []
    async with Transport(TransportOptions(retries=1, backoff=0.01)) as transport:
        with pytest.raises(RegistryError, match=f"cannot reach {host}"):
            await transport.request("PUT", host, "/hangup",
                                    body=FileBody(tmp_path / "blob", 20_000_000, progress.append))
    assert len(hangups) == 2 and sum(progress) == 0


async def test_file_of_the_wrong_size_is_not_sent(tmp_path, upload_server):
    host, received, _ = upload_server
    (tmp_path / "blob").write_bytes(b"x" * 1000)
    async with Transport() as transport:
        with pytest.raises(CorruptImage, match="is not 999 bytes long"):
            await transport.request("PUT", host, "/ok", body=FileBody(tmp_path / "blob", 999))
    assert received == {}


async def test_tls_probe_tells_tls_from_plain_http(tmp_path, aiohttp_server):
    plain = await aiohttp_server(web.Application())
    cert, key = self_signed(tmp_path, "probe")
    stranger, _ = self_signed(tmp_path, "stranger")
    secure = await aiohttp_server(web.Application(), ssl=server_context(cert, key))
    async with Transport() as transport:
        assert await transport.base_url(f"127.0.0.1:{secure.port}") == f"https://127.0.0.1:{secure.port}"
        assert await transport.base_url(f"127.0.0.1:{plain.port}") == f"http://127.0.0.1:{plain.port}"
    port = plain.port
    await plain.close()
    async with Transport() as transport:
        assert await transport.base_url(f"127.0.0.1:{port}") == f"http://127.0.0.1:{port}"  # nothing listens
    async with Transport(TransportOptions(ca_cert=str(stranger))) as transport:
        with pytest.raises(RegistryError, match="is not trusted"):
            await transport.base_url(f"127.0.0.1:{secure.port}")


@pytest.fixture
async def body_server(aiohttp_server):
    """GET /whole answers 2.5 MB; /chunked the same in chunked encoding;
    /cut promises 1 MB and hangs up after 300 kB; /drop answers, then closes
    its connection a moment later (as a server ending an idle keep-alive)."""
    data = os.urandom(2_500_000)
    ports, dropped = [], asyncio.Event()

    async def whole(request):
        ports.append(peer_port(request))
        return web.Response(body=data)

    async def chunked(request):
        ports.append(peer_port(request))
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(data), 700_001):
            await response.write(data[start:start + 700_001])
        await response.write_eof()
        return response

    async def cut(request):
        response = web.StreamResponse(headers={"Content-Length": "1000000"})
        await response.prepare(request)
        await response.write(data[:300_000])
        request.transport.close()
        return response

    async def drop(request):
        ports.append(peer_port(request))

        def hang_up():
            request.transport.close()
            dropped.set()
        asyncio.get_running_loop().call_later(0.05, hang_up)
        return web.Response(body=b"bye")

    app = web.Application()
    for path, handler in (("/whole", whole), ("/chunked", chunked), ("/cut", cut), ("/drop", drop)):
        app.router.add_route("*", path, handler)
    server = await aiohttp_server(app)
    return SimpleNamespace(host=f"127.0.0.1:{server.port}", data=data, ports=ports, dropped=dropped)


async def test_body_is_pumped_into_a_file_hashed(body_server):
    host, data = body_server.host, body_server.data
    async with Transport() as transport:
        response = await transport.request("GET", host, "/whole")
        target, verifier, progress = io.BytesIO(), Verifier(), []
        await response.body.pump_into(target, verifier, progress.append)
    assert response.status == 200 and target.getvalue() == data
    assert verifier.digest().encoded == hashlib.sha256(data).hexdigest() and sum(progress) == len(data)


async def test_broken_body_leaves_exactly_the_hashed_prefix(body_server):
    host, data = body_server.host, body_server.data
    async with Transport() as transport:
        response = await transport.request("GET", host, "/cut")
        target, verifier = io.BytesIO(), Verifier()
        with pytest.raises(Interrupted, match="download interrupted"):
            await response.body.pump_into(target, verifier, lambda count: None)
    assert target.getvalue() == data[:300_000] and verifier.size == 300_000


async def test_body_iterates_in_blocks(body_server):
    host, data = body_server.host, body_server.data
    async with Transport() as transport:
        response = await transport.request("GET", host, "/whole")
        blocks = [bytes(block) async for block in response.body]
    assert b"".join(blocks) == data and len(blocks) == 3


async def test_chunked_body_arrives_whole_and_keeps_its_connection(body_server):
    host, data, ports = body_server.host, body_server.data, body_server.ports
    async with Transport() as transport:
        target, verifier = io.BytesIO(), Verifier()
        response = await transport.request("GET", host, "/chunked")
        assert response.body.length is None
        await response.body.pump_into(target, verifier, lambda count: None)
        again = await transport.request("GET", host, "/chunked")
        assert b"".join([bytes(b) async for b in again.body.chunks(1 << 20)]) == data
    assert target.getvalue() == data and len(ports) == 2 and ports[0] == ports[1]


async def test_head_answer_has_no_body_and_keeps_its_connection(body_server):
    host, ports = body_server.host, body_server.ports
    async with Transport() as transport:
        async with await transport.request("HEAD", host, "/whole") as head:
            assert head.headers.get("content-length") == "2500000" and head.body.length == 0
        async with await transport.request("GET", host, "/whole") as response:
            assert len(await response.read(3_000_000)) == 2_500_000
    assert len(ports) == 2 and ports[0] == ports[1]


async def test_connection_the_server_closed_while_idle_is_replaced(body_server):
    host, data, ports = body_server.host, body_server.data, body_server.ports
    async with Transport() as transport:
        async with await transport.request("GET", host, "/drop") as response:
            assert await response.read(100) == b"bye"
        await asyncio.wait_for(body_server.dropped.wait(), 10)  # hung up after answering
        async with await transport.request("GET", host, "/whole") as response:
            assert await response.read(3_000_000) == data
    assert len(ports) == 2 and ports[0] != ports[1]


async def test_body_framed_by_the_end_of_the_connection(tmp_path):
    """A bare server that sends neither Content-Length nor chunks: the body
    is whatever comes until it closes."""
    data = os.urandom(1_500_000)

    async def answer(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n" + data)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    host = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with Transport() as transport:
            response = await transport.request("GET", host, f"http://{host}/")  # no TLS probe
            assert response.body.length is None
            assert b"".join([bytes(b) async for b in response.body]) == data
    finally:
        server.close()
        await server.wait_closed()
