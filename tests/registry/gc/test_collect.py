"""Garbage collection on memory, filesystem and S3 (moto over HTTP): what it
removes, what it keeps, and the report. Images are pushed through the real
registry app; the collection runs over a driver of its own."""
from __future__ import annotations

import asyncio
import json
import os

import pytest

from ocispec import mediatypes as mt
from registry.gc import GcBusy, Timing, collect
from registry.gc.lease import SweepLease
from storage_backends.bulk import walk_files
from tests.registry.seed import image_manifest, index_manifest, push_blob, push_manifest, sha256

from .checks import assert_consistent, pull
from .conftest import opened, registry_client

CONFIG = b'{"architecture":"amd64","os":"linux"}'
UPLOAD_BYTES = 10 + len("2026-01-01T00:00:00Z")  # its data and its startedat


async def push_scene(client) -> dict:
    """team/app: v1 (shared, own) and an untagged manifest with a layer of its
    own; an orphan blob; an abandoned upload of 10 bytes. other: latest (shared)."""
    shared, own, untagged_only, orphan = (os.urandom(n) for n in (3000, 2000, 1500, 1234))
    for blob in (shared, own, untagged_only, orphan, CONFIG):
        await push_blob(client, "team/app", blob)
    v1 = image_manifest(CONFIG, [shared, own])
    loose = image_manifest(CONFIG, [shared, untagged_only])
    await push_manifest(client, "team/app", "v1", v1)
    await push_manifest(client, "team/app", sha256(loose), loose)
    for blob in (shared, CONFIG):
        await push_blob(client, "other", blob)
    latest = image_manifest(CONFIG, [shared])
    await push_manifest(client, "other", "latest", latest)
    start = await client.post("/v2/team/app/blobs/uploads/")
    patch = await client.patch(start.headers["Location"], data=b"0123456789",
                               headers={"Content-Range": "0-9"})
    assert patch.status == 202
    return {"orphan": sha256(orphan), "orphan_size": len(orphan), "loose": sha256(loose),
            "loose_size": len(loose), "untagged_only": sha256(untagged_only),
            "untagged_only_size": len(untagged_only), "v1": sha256(v1)}


def removed(report, kind: str) -> set[str]:
    return {item.name for item in report.removed if item.kind == kind}


async def test_removes_what_nothing_references_and_keeps_every_manifest(storage):
    async with registry_client(storage) as client:
        scene = await push_scene(client)
        await storage.settle()
        async with opened(storage) as driver:
            report = await collect(driver, timing=storage.timing)
            assert removed(report, "blob") == {scene["orphan"]}
            assert removed(report, "manifest") == set() and len(removed(report, "upload")) == 1
            assert report.bytes_freed == scene["orphan_size"] + UPLOAD_BYTES
            await assert_consistent(driver)
            again = await collect(driver, timing=storage.timing)
            assert again.removed == [] and again.bytes_freed == 0
        await pull(client, "team/app", "v1")
        await pull(client, "team/app", scene["loose"])
        await pull(client, "other", "latest")
        assert (await client.head(f"/v2/team/app/blobs/{scene['orphan']}")).status == 404


async def test_delete_untagged_removes_untagged_manifests_and_only_their_blobs(storage):
    async with registry_client(storage) as client:
        scene = await push_scene(client)
        await storage.settle()
        async with opened(storage) as driver:
            report = await collect(driver, delete_untagged=True, timing=storage.timing)
            await assert_consistent(driver)
        assert removed(report, "manifest") == {scene["loose"]}
        assert removed(report, "blob") == {scene["orphan"], scene["untagged_only"], scene["loose"]}
        assert report.bytes_freed == (scene["orphan_size"] + scene["untagged_only_size"]
                                      + scene["loose_size"] + UPLOAD_BYTES)
        await pull(client, "team/app", "v1")
        await pull(client, "other", "latest")
        assert (await client.get(f"/v2/team/app/manifests/{scene['loose']}")).status == 404


async def test_index_children_and_referrers_of_kept_manifests_survive_delete_untagged(storage):
    layer_a, layer_b, layer_u = os.urandom(500), os.urandom(600), os.urandom(700)
    amd64, arm64 = image_manifest(CONFIG, [layer_a]), image_manifest(CONFIG, [layer_b])
    index = index_manifest([amd64, arm64])
    signature = image_manifest(CONFIG, [], artifactType="application/vnd.example.sig",
                               subject={"mediaType": mt.OCI_INDEX, "digest": sha256(index),
                                        "size": len(index)})
    untagged = image_manifest(CONFIG, [layer_u])
    orphan_sig = image_manifest(CONFIG, [], artifactType="application/vnd.example.sig",
                                subject={"mediaType": mt.OCI_MANIFEST, "digest": sha256(untagged),
                                         "size": len(untagged)})
    async with registry_client(storage) as client:
        for blob in (layer_a, layer_b, layer_u, CONFIG):
            await push_blob(client, "multi", blob)
        for raw in (amd64, arm64, untagged, orphan_sig, signature):
            await push_manifest(client, "multi", sha256(raw), raw)
        await push_manifest(client, "multi", "latest", index, mt.OCI_INDEX)
        await storage.settle()
        async with opened(storage) as driver:
            report = await collect(driver, delete_untagged=True, timing=storage.timing)
            await assert_consistent(driver)
        assert removed(report, "manifest") == {sha256(untagged), sha256(orphan_sig)}
        assert removed(report, "blob") == {sha256(untagged), sha256(orphan_sig), sha256(layer_u)}
        await pull(client, "multi", "latest")
        await pull(client, "multi", sha256(signature))
        listed = await (await client.get(f"/v2/multi/referrers/{sha256(index)}")).json()
        assert [entry["digest"] for entry in listed["manifests"]] == [sha256(signature)]
        gone = await (await client.get(f"/v2/multi/referrers/{sha256(untagged)}")).json()
        assert gone["manifests"] == []


async def test_grace_period_keeps_everything_recent(storage):
    async with registry_client(storage) as client:
        await push_scene(client)
        async with opened(storage) as driver:
            before = await walk_files(driver, "docker")
            report = await collect(driver, delete_untagged=True, timing=Timing())
            assert report.removed == [] and report.bytes_freed == 0
            assert await walk_files(driver, "docker") == before


async def test_dry_run_reports_what_a_run_removes_and_removes_nothing(storage):
    async with registry_client(storage) as client:
        await push_scene(client)
        await storage.settle()
        async with opened(storage) as driver:
            before = [info.key for info in await walk_files(driver, "docker")]
            dry = await collect(driver, dry_run=True, delete_untagged=True, timing=storage.timing)
            assert [info.key for info in await walk_files(driver, "docker")] == before
            real = await collect(driver, delete_untagged=True, timing=storage.timing)
        assert dry.summary().startswith("gc would remove") and real.summary().startswith("gc removed")
        assert dry.to_dict()["removed"] == real.to_dict()["removed"]
        assert dry.bytes_freed == real.bytes_freed > 0
        assert json.loads(json.dumps(real.to_dict()))["counts"]["manifest"] == 1


async def test_a_layer_link_no_manifest_uses_goes_but_the_blob_others_use_stays(storage):
    layer = os.urandom(4000)
    async with registry_client(storage) as client:
        await push_blob(client, "abandoned", layer)
        await push_blob(client, "used", layer)
        await push_blob(client, "used", CONFIG)
        await push_manifest(client, "used", "v1", image_manifest(CONFIG, [layer]))
        await storage.settle()
        async with opened(storage) as driver:
            report = await collect(driver, timing=storage.timing)
        assert [(item.kind, item.repository) for item in report.removed] == [("layer link", "abandoned")]
        assert report.bytes_freed == 0
        assert (await client.head(f"/v2/abandoned/blobs/{sha256(layer)}")).status == 404
        await pull(client, "used", "v1")


@pytest.mark.parametrize("storage", ["memory", "filesystem"], indirect=True)
async def test_one_collection_at_a_time_and_a_dead_one_is_cleaned_up(storage):
    timing = Timing(grace=0, touch_age=0, commit_window=0, slack=0, lease=0.5)
    async with opened(storage) as driver:
        live = SweepLease(driver, timing)
        await live.acquire()
        with pytest.raises(GcBusy, match="another garbage collection is running"):
            await collect(driver, timing=timing)
        live._heartbeat.cancel()  # as if killed: the state stays, nobody rewrites it
        await storage.settle()
        await asyncio.sleep(0.6)
        report = await collect(driver, timing=timing)
        assert report.removed == []
        assert await walk_files(driver, "docker/registry/v2/_pyreg") == []
