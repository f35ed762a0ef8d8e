"""Hostile and broken clients: cut-short bodies, random manifests, huge
streams. The server answers 4xx (never 5xx), stores nothing it should not,
and its memory stays flat whatever the blob size."""
from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import random
from pathlib import Path

import pytest

from tests.support.pyreg_server import pyreg_process

from .seed import sha256


async def test_cut_short_patch_leaves_upload_unchanged(client, seed):
    path = "/v2/seed/repo/blobs/uploads/{upload}".format(**seed)
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(f"PATCH {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                 f"Content-Range: 10-1009\r\n\r\n".encode() + b"y" * 300)
    await writer.drain()
    writer.write_eof()  # the client goes away mid-body
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert not answer.startswith(b"HTTP/1.1 5"), answer
    status = await client.get(path)
    assert status.status == 204 and status.headers["Range"] == "0-9"


def _random_json(rng: random.Random, depth: int = 0):
    choices = [None, 0, -1, 2, 1.5, True, "", "x", "sha256:" + "a" * 64,
               "application/vnd.oci.image.manifest.v1+json"]
    if depth > 2 or rng.random() < 0.4:
        return rng.choice(choices)
    keys = ["mediaType", "schemaVersion", "config", "layers", "manifests", "subject", "digest",
            "size", "urls", "annotations", "artifactType", "platform"]
    if rng.random() < 0.6:
        return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 6))}
    return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]


@pytest.mark.parametrize("driver", ["memory"], indirect=True)
async def test_random_manifests_never_cause_server_errors(client, seed):
    rng = random.Random(7)
    bodies = [json.dumps(_random_json(rng)).encode() for _ in range(150)]
    bodies += [b"[" * 100000, b"\xff\xfe", b'{"schemaVersion": 2, "config": {"mediaType": "a/b", '
               b'"digest": "sha256:' + b"a" * 64 + b'", "size": 1, "urls": 5}}']
    for body in bodies:
        for ref in ("t", sha256(body)):
            response = await client.put(f"/v2/fuzz/manifests/{ref}", data=body,
                                        headers={"Content-Type": rng.choice(["", "application/json",
                                                 "application/vnd.oci.image.manifest.v1+json"])})
            assert 400 <= response.status < 500, (response.status, body[:200])
            assert (await response.json())["errors"][0]["code"]


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_memory_stays_flat_for_a_big_blob(tmp_path):
    size, chunk = 256 * 1024 * 1024, bytes(range(256)) * 4096  # 1 MiB pattern
    digest = hashlib.sha256()
    for _ in range(size // len(chunk)):
        digest.update(chunk)
    with pyreg_process(tmp_path / "storage") as (url, process):
        host, port = url.split("//")[1].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        connection.request("POST", f"/v2/big/blobs/uploads/?digest=sha256:{digest.hexdigest()}",
                           body=(chunk for _ in range(size // len(chunk))),
                           headers={"Content-Length": str(size)})
        assert connection.getresponse().status == 201
        connection.close()
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        connection.request("GET", f"/v2/big/blobs/sha256:{digest.hexdigest()}")
        response, received = connection.getresponse(), 0
        while block := response.read(1 << 20):
            received += len(block)
        assert received == size
        assert _peak_rss_mib(process.pid) < 120, "the server held the blob in memory"
