"""Blob uploads: start, monolithic, chunked, status, finish, cancel, mount."""
from __future__ import annotations

import asyncio
import hashlib
import re

import pytest

from .api_table import Row, run_row

U = "/v2/seed/repo/blobs/uploads"
HELLO = b"hello upload"
HELLO_DIGEST = "sha256:" + hashlib.sha256(HELLO).hexdigest()


def matches(pattern: str):
    return lambda value: re.fullmatch(pattern, value) is not None


UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

ROWS = [
    Row("start", "POST", "/v2/new/repo/blobs/uploads/", 202,
        headers={"Content-Length": "0"},
        expect_headers={"Location": matches(rf"/v2/new/repo/blobs/uploads/{UUID}"),
                        "Docker-Upload-UUID": matches(UUID), "Range": "0-0"}),
    Row("monolithic", "POST", f"/v2/new/repo/blobs/uploads/?digest={HELLO_DIGEST}", 201, body=HELLO,
        expect_headers={"Location": f"/v2/new/repo/blobs/{HELLO_DIGEST}",
                        "Docker-Content-Digest": HELLO_DIGEST},
        then=(("GET", f"/v2/new/repo/blobs/{HELLO_DIGEST}", 200),)),
    Row("monolithic-empty-blob", "POST",
        "/v2/new/repo/blobs/uploads/?digest=sha256:" + hashlib.sha256(b"").hexdigest(), 201),
    Row("monolithic-mismatch", "POST", "/v2/new/repo/blobs/uploads/?digest={missing}", 400,
        "DIGEST_INVALID", body=HELLO, then=(("GET", "/v2/new/repo/blobs/{missing}", 404),)),
    Row("monolithic-bad-digest", "POST", "/v2/new/repo/blobs/uploads/?digest=sha256:nope", 400,
        "DIGEST_INVALID", body=HELLO),
    Row("monolithic-unsupported-alg", "POST", "/v2/new/repo/blobs/uploads/?digest=sha1:" + "0" * 40,
        400, "DIGEST_INVALID", body=HELLO),
    Row("mount", "POST", "/v2/new/repo/blobs/uploads/?mount={other_blob}&from=other", 201,
        expect_headers={"Location": "/v2/new/repo/blobs/{other_blob}",
                        "Docker-Content-Digest": "{other_blob}"},
        then=(("HEAD", "/v2/new/repo/blobs/{other_blob}", 200),)),
    Row("mount-not-in-from", "POST", "/v2/new/repo/blobs/uploads/?mount={layer}&from=other", 202,
        expect_headers={"Location": matches(rf"/v2/new/repo/blobs/uploads/{UUID}")},
        then=(("HEAD", "/v2/new/repo/blobs/{layer}", 404),)),
    # Automatic content discovery: the blob is found in `other` and mounted.
    Row("mount-without-from", "POST", "/v2/new/repo/blobs/uploads/?mount={other_blob}", 201,
        expect_headers={"Location": "/v2/new/repo/blobs/{other_blob}",
                        "Docker-Content-Digest": "{other_blob}"},
        then=(("GET", "/v2/new/repo/blobs/{other_blob}", 200),)),
    Row("mount-without-from-unknown-blob", "POST", "/v2/new/repo/blobs/uploads/?mount={missing}", 202,
        expect_headers={"Location": matches(rf"/v2/new/repo/blobs/uploads/{UUID}")},
        then=(("HEAD", "/v2/new/repo/blobs/{missing}", 404),)),
    Row("mount-bad-from", "POST", "/v2/new/repo/blobs/uploads/?mount={other_blob}&from=../other",
        400, "NAME_INVALID"),
    Row("mount-bad-digest", "POST", "/v2/new/repo/blobs/uploads/?mount=sha256:1&from=other",
        400, "DIGEST_INVALID"),
    Row("status", "GET", U + "/{upload}", 204,
        expect_headers={"Range": "0-9", "Location": U + "/{upload}", "Docker-Upload-UUID": "{upload}"}),
    Row("status-unknown", "GET", U + "/{unknown_upload}", 404, "BLOB_UPLOAD_UNKNOWN"),
    Row("status-not-a-uuid", "GET", U + "/not-a-uuid", 404, "BLOB_UPLOAD_UNKNOWN"),
    Row("status-uuid-newline", "GET", U + "/{upload}%0A", 404, "BLOB_UPLOAD_UNKNOWN"),
    Row("status-traversal", "GET", U + "/..%2F..%2F_layers", 404, "BLOB_UPLOAD_UNKNOWN"),
    Row("status-other-repo", "GET", "/v2/other/blobs/uploads/{upload}", 404, "BLOB_UPLOAD_UNKNOWN"),
    Row("patch-in-order", "PATCH", U + "/{upload}", 202, body=b"abcdefghij",
        headers={"Content-Range": "10-19", "Content-Type": "application/octet-stream"},
        expect_headers={"Range": "0-19", "Location": U + "/{upload}"}),
    Row("patch-streamed", "PATCH", U + "/{upload}", 202, body=b"abcdefghij",
        expect_headers={"Range": "0-19"}),
    Row("patch-out-of-order", "PATCH", U + "/{upload}", 416, "BLOB_UPLOAD_INVALID", body=b"abcdefghij",
        headers={"Content-Range": "0-9"},
        expect_headers={"Range": "0-9", "Location": U + "/{upload}"},
        then=(("GET", U + "/{upload}", 204),)),
    Row("patch-gap", "PATCH", U + "/{upload}", 416, "BLOB_UPLOAD_INVALID", body=b"abcdefghij",
        headers={"Content-Range": "20-29"}),
    Row("patch-garbled-range", "PATCH", U + "/{upload}", 416, "BLOB_UPLOAD_INVALID", body=b"abcdefghij",
        headers={"Content-Range": "ten-twenty"}),
    Row("patch-backwards-range", "PATCH", U + "/{upload}", 416, "BLOB_UPLOAD_INVALID", body=b"abcdefghij",
        headers={"Content-Range": "19-10"}),
    Row("patch-length-mismatch", "PATCH", U + "/{upload}", 416, "BLOB_UPLOAD_INVALID", body=b"abcde",
        headers={"Content-Range": "10-19"}),
    Row("patch-unknown", "PATCH", U + "/{unknown_upload}", 404, "BLOB_UPLOAD_UNKNOWN", body=b"x"),
    Row("finish", "PUT", U + "/{upload}?digest={upload_digest}", 201,
        expect_headers={"Location": "/v2/seed/repo/blobs/{upload_digest}",
                        "Docker-Content-Digest": "{upload_digest}"},
        then=(("GET", "/v2/seed/repo/blobs/{upload_digest}", 200), ("GET", U + "/{upload}", 404))),
    Row("finish-with-last-chunk", "PUT", U + "/{upload}?digest={upload_plus}", 201,
        body=b"abcdefghij", headers={"Content-Range": "10-19"},
        then=(("GET", "/v2/seed/repo/blobs/{upload_plus}", 200),)),
    Row("finish-mismatch", "PUT", U + "/{upload}?digest={missing}", 400, "DIGEST_INVALID",
        then=(("GET", "/v2/seed/repo/blobs/{missing}", 404), ("GET", U + "/{upload}", 404))),
    Row("finish-no-digest", "PUT", U + "/{upload}", 400, "DIGEST_INVALID",
        then=(("GET", U + "/{upload}", 204),)),
    Row("finish-bad-digest", "PUT", U + "/{upload}?digest=sha256:zz", 400, "DIGEST_INVALID"),
    Row("finish-unknown", "PUT", U + "/{unknown_upload}?digest={upload_digest}", 404,
        "BLOB_UPLOAD_UNKNOWN"),
    Row("cancel", "DELETE", U + "/{upload}", 204, then=(("GET", U + "/{upload}", 404),)),
    Row("cancel-unknown", "DELETE", U + "/{unknown_upload}", 404, "BLOB_UPLOAD_UNKNOWN"),
    Row("bad-name", "POST", "/v2/Bad/blobs/uploads/", 400, "NAME_INVALID"),
]


@pytest.mark.parametrize("row", ROWS, ids=str)
async def test_upload_api(row, client, snapshot, seed):
    await run_row(row, client, snapshot, seed)


async def test_chunked_upload_of_many_chunks(client, seed):
    chunks = [bytes([i]) * (1000 + i) for i in range(20)]
    start = await client.post("/v2/chunky/blobs/uploads/")
    location, offset = start.headers["Location"], 0
    for chunk in chunks:
        headers = {"Content-Range": f"{offset}-{offset + len(chunk) - 1}"}
        response = await client.patch(location, data=chunk, headers=headers)
        assert response.status == 202
        offset += len(chunk)
        assert response.headers["Range"] == f"0-{offset - 1}"
    whole = b"".join(chunks)
    digest = "sha256:" + hashlib.sha256(whole).hexdigest()
    done = await client.put(f"{location}?digest={digest}")
    assert done.status == 201
    assert await (await client.get(f"/v2/chunky/blobs/{digest}")).read() == whole


async def test_racing_chunks_take_turns(client, seed):
    """Two PATCHes for the same range at once: one lands, the other gets 416."""
    location = "/v2/seed/repo/blobs/uploads/{upload}".format(**seed)
    headers = {"Content-Range": "10-19"}
    first, second = await asyncio.gather(client.patch(location, data=b"abcdefghij", headers=headers),
                                         client.patch(location, data=b"abcdefghij", headers=headers))
    assert sorted([first.status, second.status]) == [202, 416]
    done = await client.put(f"{location}?digest={seed['upload_plus']}")
    assert done.status == 201


async def test_repushing_stored_content_is_verified_not_rewritten(client, snapshot, seed):
    before = await snapshot()
    layer = seed["_layer_bytes"]
    again = await client.post(f"/v2/seed/repo/blobs/uploads/?digest={seed['layer']}", data=layer)
    assert again.status == 201 and await snapshot() == before
    lie = await client.post(f"/v2/seed/repo/blobs/uploads/?digest={seed['layer']}", data=layer[:-1])
    assert lie.status == 400 and (await lie.json())["errors"][0]["code"] == "DIGEST_INVALID"
    elsewhere = await client.post(f"/v2/new/repo/blobs/uploads/?digest={seed['layer']}", data=layer)
    assert elsewhere.status == 201
    assert await snapshot() - before == {f"docker/registry/v2/repositories/new/repo/_layers/sha256/"
                                         f"{seed['layer'][7:]}/link"}
