"""Slow and idle clients (slowloris): hundreds of connections that send
half a request and stall must not stop the registry from answering others,
and a stalled upload must not block other uploads to the same repository."""
from __future__ import annotations

import socket
import time

from tests.hostile import rawhttp
from tests.hostile.state import REPO, sha256

STALLED = 300
ANSWER_WITHIN = 3.0


def _stall(port: int, partial: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(partial)
    return sock


def _answers_quickly(port: int, request: bytes) -> rawhttp.RawResponse:
    started = time.monotonic()
    answer = rawhttp.exchange(port, request, timeout=ANSWER_WITHIN + 2)
    assert time.monotonic() - started < ANSWER_WITHIN, "the server answered too slowly"
    return answer


def test_half_sent_requests_do_not_block_others(hostile_server):
    port = hostile_server.port
    stalled = [_stall(port, b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
               for _ in range(STALLED)]
    try:
        assert _answers_quickly(port, rawhttp.build("GET", "/v2/")).status == 200
    finally:
        for sock in stalled:
            sock.close()


def test_a_stalled_upload_does_not_block_another(hostile_server):
    port = hostile_server.port
    stalled = _stall(port, rawhttp.build("POST", f"/v2/{REPO}/blobs/uploads/?digest={sha256(b'x' * 1000)}",
                                         {}, b"x" * 10, content_length=1000))
    try:
        blob = b"another upload while the first one stalls"
        answer = _answers_quickly(port, rawhttp.build(
            "POST", f"/v2/{REPO}/blobs/uploads/?digest={sha256(blob)}", {}, blob))
        assert answer.status == 201, answer.describe()
    finally:
        stalled.close()
    missing = rawhttp.exchange(port, rawhttp.build("HEAD", f"/v2/{REPO}/blobs/{sha256(b'x' * 1000)}"))
    assert missing.status == 404
