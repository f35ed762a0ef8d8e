"""A blob far larger than anything pyreg may hold in memory, pushed in
chunked PATCHes (as docker does) and read back, while the server's peak
resident memory (VmHWM) is watched: it must stay flat, because every body
is streamed through the digest verifier, never buffered."""
from __future__ import annotations

import hashlib
import http.client

from tests.support.pyreg_server import pyreg_process

BLOB_SIZE = 256 << 20
PIECE = bytes(range(256)) * 4096            # 1 MiB, not all zeros
ALLOWED_GROWTH = 64 << 20                   # far below the blob's size


def _peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


PIECES = BLOB_SIZE // len(PIECE)


def _pieces(start: int, stop: int):
    """Pieces `start`..`stop` of the blob, each made unique by its index."""
    for index in range(start, stop):
        yield index.to_bytes(8, "big") + PIECE[8:]


def _expected_digest() -> str:
    hasher = hashlib.sha256()
    for piece in _pieces(0, PIECES):
        hasher.update(piece)
    return f"sha256:{hasher.hexdigest()}"


def _push(port: int, digest: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("POST", "/v2/big/blob/blobs/uploads/")
    response = connection.getresponse()
    response.read()
    assert response.status == 202
    location = response.getheader("Location")
    half = PIECES // 2
    for start, stop in ((0, half), (half, PIECES)):  # two 128 MiB PATCHes, chunked like docker's
        connection.request("PATCH", location, body=_pieces(start, stop),
                           headers={"Content-Type": "application/octet-stream"},
                           encode_chunked=True)
        response = connection.getresponse()
        response.read()
        assert response.status == 202, response.status
        location = response.getheader("Location")
    separator = "&" if "?" in location else "?"
    connection.request("PUT", f"{location}{separator}digest={digest}", body=b"")
    response = connection.getresponse()
    response.read()
    assert response.status == 201, response.status
    connection.close()


def _pull_digest(port: int, digest: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("GET", f"/v2/big/blob/blobs/{digest}")
    response = connection.getresponse()
    assert response.status == 200
    hasher = hashlib.sha256()
    while chunk := response.read(1 << 20):
        hasher.update(chunk)
    connection.close()
    return f"sha256:{hasher.hexdigest()}"


def test_a_256MiB_blob_streams_through_with_flat_memory(tmp_path):
    digest = _expected_digest()
    with pyreg_process(tmp_path / "storage") as (url, process):
        port = int(url.rsplit(":", 1)[1])
        before = _peak_rss(process.pid)
        _push(port, digest)
        assert _pull_digest(port, digest) == digest
        growth = _peak_rss(process.pid) - before
    print(f"pyreg serve peak RSS grew by {growth / (1 << 20):.1f} MiB for a 256 MiB blob")
    assert growth < ALLOWED_GROWTH, f"peak RSS grew by {growth >> 20} MiB"
