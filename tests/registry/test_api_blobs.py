"""Blob GET/HEAD/DELETE, one row per request."""
from __future__ import annotations

import hashlib

import pytest

from .api_table import Row, run_row

R = "/v2/seed/repo/blobs"
BAD_HEX = "sha256:" + "A" * 64

ROWS = [
    Row("version-check", "GET", "/v2/", 200,
        expect_headers={"Docker-Distribution-API-Version": "registry/2.0"}),
    Row("version-check-head", "HEAD", "/v2/", 200),
    Row("get-big", "GET", R + "/{layer}", 200,
        expect_headers={"Docker-Content-Digest": "{layer}", "Content-Length": str(300 * 1024),
                        "Accept-Ranges": "bytes"},
        expect_body=lambda seed: seed["_layer_bytes"]),
    Row("get-small", "GET", R + "/{config}", 200,
        expect_headers={"Docker-Content-Digest": "{config}",
                        "Content-Type": "application/octet-stream"},
        expect_body=lambda seed: seed["_config_bytes"]),
    Row("head", "HEAD", R + "/{layer}", 200,
        expect_headers={"Content-Length": str(300 * 1024), "Docker-Content-Digest": "{layer}"},
        expect_body=b""),
    Row("range", "GET", R + "/{layer}", 206, headers={"Range": "bytes=10-19"},
        expect_headers={"Content-Range": f"bytes 10-19/{300 * 1024}", "Content-Length": "10"},
        expect_body=lambda seed: seed["_layer_bytes"][10:20]),
    Row("range-small", "GET", R + "/{config}", 206, headers={"Range": "bytes=0-1"},
        expect_body=b'{"'),
    Row("range-unsatisfiable", "GET", R + "/{layer}", 416, headers={"Range": "bytes=999999-"}),
    Row("unknown", "GET", R + "/{missing}", 404, "BLOB_UNKNOWN"),
    Row("unknown-head", "HEAD", R + "/{missing}", 404, "BLOB_UNKNOWN"),
    Row("linked-elsewhere-only", "GET", R + "/{other_blob}", 404, "BLOB_UNKNOWN"),
    Row("manifest-is-not-a-layer", "GET", R + "/{manifest}", 404, "BLOB_UNKNOWN"),
    Row("short-digest", "GET", R + "/sha256:abc", 400, "DIGEST_INVALID"),
    Row("upper-hex", "GET", R + "/" + BAD_HEX, 400, "DIGEST_INVALID"),
    Row("unsupported-alg", "GET", R + "/md5:" + "0" * 32, 400, "DIGEST_INVALID"),
    Row("no-alg", "GET", R + "/" + "0" * 64, 400, "DIGEST_INVALID"),
    Row("delete", "DELETE", R + "/{layer}", 202,
        then=(("GET", R + "/{layer}", 404), ("HEAD", R + "/{config}", 200))),
    Row("delete-unknown", "DELETE", R + "/{missing}", 404, "BLOB_UNKNOWN"),
    Row("delete-bad-digest", "DELETE", R + "/sha256:zz", 400, "DIGEST_INVALID"),
    Row("wrong-method", "PUT", R + "/{layer}", 405, "UNSUPPORTED"),
    Row("no-such-endpoint", "GET", "/v2/seed/repo/nothing", 404, "UNSUPPORTED"),
    Row("range-unsatisfiable-small", "GET", R + "/{config}", 416, headers={"Range": "bytes=-0"},
        expect_headers={"Content-Range": lambda v: v.startswith("bytes */")}),
]


@pytest.mark.parametrize("row", ROWS, ids=str)
async def test_blob_api(row, client, snapshot, seed):
    await run_row(row, client, snapshot, seed)


async def test_sha512_blob_round_trip(client, driver, seed):
    data = b"sha512 content"
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    pushed = await client.post(f"/v2/seed/repo/blobs/uploads/?digest={digest}", data=data)
    assert pushed.status == 201
    fetched = await client.get(f"/v2/seed/repo/blobs/{digest}")
    assert await fetched.read() == data
    assert fetched.headers["Docker-Content-Digest"] == digest


async def test_deleted_blob_stays_for_other_repositories(client, seed):
    shared = await client.post("/v2/third/blobs/uploads/?mount={layer}&from=seed/repo".format(**seed))
    assert shared.status == 201
    assert (await client.delete("/v2/seed/repo/blobs/{layer}".format(**seed))).status == 202
    still = await client.get("/v2/third/blobs/{layer}".format(**seed))
    assert await still.read() == seed["_layer_bytes"]


RANGE_ROWS = [
    Row(f"range-{label}", "GET", R + "/{layer}", status, headers={"Range": value})
    for label, value, status in [
        ("suffix-zero", "bytes=-0", 416), ("beyond-end", "bytes=999999999-", 416),
        ("huge-numbers", "bytes=99999999999999999999999-99999999999999999999999", 416),
        ("backwards", "bytes=20-10", 416), ("garbage", "bytes=garbage", 200),
        ("many", "bytes=" + ",".join(f"{i}-{i}" for i in range(700)), 200),
        ("suffix", "bytes=-10", 206), ("open-ended", f"bytes={300 * 1024 - 5}-", 206)]
]


@pytest.mark.parametrize("row", RANGE_ROWS, ids=str)
async def test_blob_ranges(row, client, snapshot, seed):
    await run_row(row, client, snapshot, seed)
