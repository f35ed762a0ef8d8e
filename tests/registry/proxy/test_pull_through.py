"""The pull-through cache against a real upstream server: what is fetched,
how often, what is kept, and what a client sees when the upstream fails."""
from __future__ import annotations

import asyncio
import hashlib

import aiohttp
import pytest

from ocispec import mediatypes as mt
from ocispec.digest import Digest
from registry import paths
from registry.app import make_app
from registry.config import config_from_dict
from tests.registry.seed import push_blob, sha256

from .upstream_app import random_image

REPO = "library/app"


def image_of(state):
    raw = state.manifests[(REPO, "v1")]
    return raw, sha256(raw)


async def pull_all(proxy, state, repo=REPO, tag="v1", blobs=None):
    """Pull the image through the proxy (its blobs: all the upstream's unless
    given); returns the manifest's digest and bytes."""
    response = await proxy.get(f"/v2/{repo}/manifests/{tag}", headers={"Accept": mt.OCI_MANIFEST})
    assert response.status == 200, await response.text()
    raw = await response.read()
    for digest in blobs or state.blobs:
        blob = await proxy.get(f"/v2/{repo}/blobs/{digest}")
        assert blob.status == 200, await blob.text()
        assert hashlib.sha256(await blob.read()).hexdigest() == digest.split(":")[1]
    return response.headers["Docker-Content-Digest"], raw


async def test_pull_through_serves_the_upstream_bytes_and_caches_them(proxy, upstream_state):
    raw, digest = image_of(upstream_state)
    served, body = await pull_all(proxy, upstream_state)
    assert served == digest and body == raw
    first = sum(upstream_state.requests.values())
    await pull_all(proxy, upstream_state)
    # Within the ttl the second pull asks the upstream nothing at all.
    assert sum(upstream_state.requests.values()) == first
    assert upstream_state.count("GET", f"/blobs/{next(iter(upstream_state.blobs))}") == 1


async def test_by_digest_and_head_requests(proxy, upstream_state):
    raw, digest = image_of(upstream_state)
    head = await proxy.head(f"/v2/{REPO}/manifests/{digest}")
    assert head.status == 200 and head.headers["Docker-Content-Digest"] == digest
    assert int(head.headers["Content-Length"]) == len(raw)
    layer = max(upstream_state.blobs, key=lambda d: len(upstream_state.blobs[d]))
    blob_head = await proxy.head(f"/v2/{REPO}/blobs/{layer}")
    assert blob_head.status == 200
    assert int(blob_head.headers["Content-Length"]) == len(upstream_state.blobs[layer])
    # A HEAD of an uncached blob is answered from the upstream without fetching it.
    assert upstream_state.count("GET", f"/blobs/{layer}") == 0


async def test_two_concurrent_pulls_of_one_blob_make_one_upstream_request(proxy, upstream_state, storage):
    upstream_state.chunk_delay = 0.01  # 2 MiB in 32 chunks: about a third of a second
    layer = max(upstream_state.blobs, key=lambda d: len(upstream_state.blobs[d]))

    async def fetch():
        response = await proxy.get(f"/v2/{REPO}/blobs/{layer}")
        assert response.status == 200
        return await response.read()

    bodies = await asyncio.gather(fetch(), fetch(), fetch())
    assert all(body == upstream_state.blobs[layer] for body in bodies)
    assert upstream_state.count("GET", f"/blobs/{layer}") == 1


async def test_wrong_bytes_from_the_upstream_are_cut_and_never_cached(proxy, upstream_state, caplog,
                                                                     storage, tmp_path):
    layer = max(upstream_state.blobs, key=lambda d: len(upstream_state.blobs[d]))
    upstream_state.lies.add(layer)
    for attempt in (1, 2):
        response = await proxy.get(f"/v2/{REPO}/blobs/{layer}")
        assert response.status == 200  # the stream began before the bytes could be judged
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
        # Never served from the cache: each attempt goes to the upstream again.
        assert upstream_state.count("GET", f"/blobs/{layer}") == attempt
    assert sum("not cached" in record.message for record in caplog.records) == 2
    assert not await storage.exists(paths.blob_data(Digest.parse(layer)))
    left = [p.name for p in (tmp_path / "proxy").rglob("*") if p.is_file()]
    assert left == [], left  # nothing of the two transfers remains
    head = await proxy.head(f"/v2/{REPO}/blobs/{layer}")
    assert head.status == 200 and upstream_state.count("HEAD", f"/blobs/{layer}") == 1  # not local


async def test_a_manifest_not_matching_its_digest_is_refused(proxy, upstream_state):
    raw, digest = image_of(upstream_state)
    upstream_state.manifests[(REPO, digest)] = raw + b" "
    response = await proxy.get(f"/v2/{REPO}/manifests/{digest}")
    assert response.status == 503
    assert "does not match" in (await response.json())["errors"][0]["message"]
    upstream_state.manifests[(REPO, digest)] = raw
    assert (await proxy.get(f"/v2/{REPO}/manifests/{digest}")).status == 200


@pytest.mark.parametrize("status, expected, code", [(503, 503, "UNKNOWN"), (429, 429, "TOOMANYREQUESTS")])
async def test_upstream_failing_cached_content_still_served(proxy, upstream_state, status, expected, code,
                                                            caplog):
    raw, digest = image_of(upstream_state)
    cached = dict(upstream_state.blobs)
    await pull_all(proxy, upstream_state)
    other = random_image(tag="v2")
    upstream_state.add(other)
    upstream_state.status = status
    # Within the default ttl the cached tag is served without asking; a stale
    # one is the next test's. Uncached content gets a clear error.
    await pull_all(proxy, upstream_state, blobs=cached)
    missing = await proxy.get(f"/v2/{REPO}/manifests/v2")
    assert missing.status == expected
    assert (await missing.json())["errors"][0]["code"] == code
    if status == 429:
        assert missing.headers["Retry-After"] == "7"
    blob = await proxy.get(f"/v2/{REPO}/blobs/{sha256(other.layers[0])}")
    assert blob.status == expected


@pytest.mark.parametrize("proxy_settings", [{"ttl": "0s"}], indirect=True)
async def test_stale_tag_served_with_a_log_line_when_the_upstream_is_down(proxy, upstream_state, caplog):
    raw, digest = image_of(upstream_state)
    await pull_all(proxy, upstream_state)
    upstream_state.status = 502
    served, body = await pull_all(proxy, upstream_state)
    assert served == digest and body == raw
    assert any("unconfirmed" in record.message for record in caplog.records)


@pytest.mark.parametrize("proxy_settings", [{"ttl": "1s"}], indirect=True)
async def test_a_tag_moved_upstream_is_followed_after_the_ttl(proxy, upstream_state):
    _, first = image_of(upstream_state)
    assert (await pull_all(proxy, upstream_state))[0] == first
    moved = random_image()
    upstream_state.add(moved)
    assert (await pull_all(proxy, upstream_state))[0] == first  # within the ttl
    heads = upstream_state.count("HEAD", "/manifests/v1")
    await asyncio.sleep(1.1)
    assert (await pull_all(proxy, upstream_state))[0] == moved.digest
    assert upstream_state.count("HEAD", "/manifests/v1") == heads + 1
    await asyncio.sleep(1.1)
    manifest_gets = upstream_state.count("GET", "/manifests/v1")
    assert (await pull_all(proxy, upstream_state))[0] == moved.digest
    # Unmoved: confirmed by a HEAD, not fetched again.
    assert upstream_state.count("GET", "/manifests/v1") == manifest_gets


async def test_push_to_a_proxied_repository_is_refused(proxy, storage):
    before = await storage.exists("docker/registry/v2/repositories")
    response = await proxy.post(f"/v2/{REPO}/blobs/uploads/")
    assert response.status == 405
    assert (await response.json())["errors"][0]["code"] == "UNSUPPORTED"
    put = await proxy.put(f"/v2/{REPO}/manifests/v9", data=b"{}",
                          headers={"Content-Type": mt.OCI_MANIFEST})
    assert put.status == 405
    assert (await proxy.delete(f"/v2/{REPO}/manifests/v1")).status == 405
    assert await storage.exists("docker/registry/v2/repositories") == before


async def test_tags_are_listed_from_the_upstream_then_from_the_cache(proxy, upstream_state):
    upstream_state.add(random_image(tag="v2"))
    listed = await proxy.get(f"/v2/{REPO}/tags/list")
    assert (await listed.json()) == {"name": REPO, "tags": ["v1", "v2"]}
    await pull_all(proxy, upstream_state)
    upstream_state.status = 500
    cached = await proxy.get(f"/v2/{REPO}/tags/list")
    assert (await cached.json())["tags"] == ["v1"]
    unknown = await proxy.get("/v2/library/never/tags/list")
    assert unknown.status == 404 and (await unknown.json())["errors"][0]["code"] == "NAME_UNKNOWN"


async def test_unknown_content_upstream_is_the_spec_unknown_code(proxy):
    manifest = await proxy.get(f"/v2/{REPO}/manifests/nope")
    assert manifest.status == 404 and (await manifest.json())["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    blob = await proxy.get(f"/v2/{REPO}/blobs/{sha256(b'absent')}")
    assert blob.status == 404 and (await blob.json())["errors"][0]["code"] == "BLOB_UNKNOWN"


async def test_upstreams_by_prefix_map_names_and_may_accept_pushes(aiohttp_client, upstream_url,
                                                                   upstream_state, storage):
    config = config_from_dict({"pyreg": {"proxy": {"upstreams": [
        {"prefix": "hub/", "remoteurl": upstream_url},
        {"prefix": "mirror/team", "remoteurl": upstream_url, "push": True},
    ]}}}, environ={})
    proxy = await aiohttp_client(make_app(config, storage))
    raw, digest = image_of(upstream_state)
    # hub/library/app is library/app upstream.
    assert (await pull_all(proxy, upstream_state, repo="hub/library/app")) == (digest, raw)
    assert upstream_state.count("GET", "/v2/library/app/manifests/v1") == 1
    # A push to the prefix with `push: true` is stored here; to the other, refused.
    assert (await proxy.post("/v2/hub/library/app/blobs/uploads/")).status == 405
    pushed = await push_blob(proxy, "mirror/team/own", b"local bytes")
    assert (await proxy.get(f"/v2/mirror/team/own/blobs/{pushed}")).status == 200
    # Not under any prefix: an ordinary repository of this registry.
    assert (await proxy.get(f"/v2/{REPO}/manifests/v1")).status == 404


@pytest.fixture
def short_upstream_timeouts(monkeypatch):
    """Read timeouts of a fraction of a second: a stalled upstream is given up quickly."""
    monkeypatch.setattr("registry.proxy.upstream.SOCK_READ", 0.3)


@pytest.mark.parametrize("proxy_settings", [{"ttl": "0s"}], indirect=True)
async def test_a_stalled_upstream_times_out_and_the_cache_answers(short_upstream_timeouts, proxy,
                                                                  upstream_state, caplog):
    raw, digest = image_of(upstream_state)
    cached = dict(upstream_state.blobs)
    await pull_all(proxy, upstream_state)
    upstream_state.add(random_image(tag="v2"))
    upstream_state.stall = 2.0
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await pull_all(proxy, upstream_state, blobs=cached))[0] == digest
    missing = await proxy.get(f"/v2/{REPO}/manifests/v2")
    assert missing.status == 503 and "Timeout" in (await missing.json())["errors"][0]["message"]
    assert loop.time() - started < 1.9  # neither waited for the stalled upstream
    assert any("unconfirmed" in record.message for record in caplog.records)


async def test_an_upstream_stalling_mid_blob_cuts_the_client_and_caches_nothing(
        short_upstream_timeouts, proxy, upstream_state, storage, caplog):
    layer = max(upstream_state.blobs, key=lambda d: len(upstream_state.blobs[d]))
    upstream_state.chunk_delay = 0.6
    response = await proxy.get(f"/v2/{REPO}/blobs/{layer}")
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()
    assert not await storage.exists(paths.blob_data(Digest.parse(layer)))
    assert any("stopped sending" in record.message for record in caplog.records)
