"""Taking in upload bodies: many-MiB bodies arrive in socket-sized pieces
that are batched, hashed and stored without joins; the digest still gates
visibility, and empty bodies end cleanly every time."""
from __future__ import annotations

import asyncio
import hashlib
import os

BIG = os.urandom(9 * (1 << 20) + 333)  # several pump batches and a ragged tail
BIG_DIGEST = "sha256:" + hashlib.sha256(BIG).hexdigest()
EMPTY_DIGEST = "sha256:" + hashlib.sha256(b"").hexdigest()


async def test_big_monolithic_upload_round_trips(client):
    response = await client.post(f"/v2/big/repo/blobs/uploads/?digest={BIG_DIGEST}", data=BIG)
    assert response.status == 201
    fetched = await client.get(f"/v2/big/repo/blobs/{BIG_DIGEST}")
    assert hashlib.sha256(await fetched.read()).hexdigest() == BIG_DIGEST.split(":")[1]


async def test_big_upload_with_wrong_digest_is_never_visible(client):
    wrong = "sha256:" + "0" * 64
    response = await client.post(f"/v2/big/repo/blobs/uploads/?digest={wrong}", data=BIG)
    assert response.status == 400
    assert (await response.json())["errors"][0]["code"] == "DIGEST_INVALID"
    assert (await client.head(f"/v2/big/repo/blobs/{wrong}")).status == 404
    assert (await client.head(f"/v2/big/repo/blobs/{BIG_DIGEST}")).status == 404


async def test_big_body_in_two_patches_then_put(client):
    start = await client.post("/v2/big/repo/blobs/uploads/")
    location, cut = start.headers["Location"], 5 * (1 << 20) + 1  # the second chunk starts mid-block
    for first, last in ((0, cut), (cut, len(BIG))):
        headers = {"Content-Range": f"{first}-{last - 1}"}
        response = await client.patch(location, data=BIG[first:last], headers=headers)
        assert response.status == 202
    done = await client.put(f"{location}?digest={BIG_DIGEST}")
    assert done.status == 201
    fetched = await client.get(f"/v2/big/repo/blobs/{BIG_DIGEST}")
    assert await fetched.read() == BIG


async def test_empty_bodies_end_every_time(client):
    """aiohttp hands every empty body the same reader, which reports its end
    only once; reading it must still stop on the second upload."""
    for attempt in range(3):
        url = f"/v2/empty/r{attempt}/blobs/uploads/?digest={EMPTY_DIGEST}"
        response = await asyncio.wait_for(client.post(url, data=b""), timeout=10)
        assert response.status == 201


async def test_upload_whose_running_hash_is_not_cached_is_hashed_again(client):
    """The hash of an upload is cached by (upload, offset); a worker without
    it (another process took the last chunk) rehashes the stored bytes, and
    the digest still decides."""
    from registry.keys import STORE
    uploads = client.app[STORE].uploads
    cut = 5 * (1 << 20) + 1
    locations = []
    for _ in range(2):
        start = await client.post("/v2/big/repo/blobs/uploads/")
        patched = await client.patch(start.headers["Location"], data=BIG[:cut],
                                     headers={"Content-Range": f"0-{cut - 1}"})
        assert patched.status == 202
        locations.append(patched.headers["Location"])
        upload_id = patched.headers["Location"].rstrip("/").rsplit("/", 1)[-1].split("?")[0]
        assert uploads.hashes.get((upload_id, cut, "sha256")).size == cut  # the cache was filled
    uploads.hashes = type(uploads.hashes)(1024, 1, lambda state: 1)  # this process forgets
    wrong = await client.put(f"{locations[0]}?digest=sha256:{'0' * 64}")
    assert wrong.status == 400 and (await wrong.json())["errors"][0]["code"] == "DIGEST_INVALID"
    rest = await client.patch(locations[1], data=BIG[cut:],
                              headers={"Content-Range": f"{cut}-{len(BIG) - 1}"})
    assert rest.status == 202
    uploads.hashes = type(uploads.hashes)(1024, 1, lambda state: 1)
    done = await client.put(f"{rest.headers['Location']}?digest={BIG_DIGEST}")
    assert done.status == 201
    assert await (await client.get(f"/v2/big/repo/blobs/{BIG_DIGEST}")).read() == BIG
