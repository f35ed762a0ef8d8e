"""Storage usage per repository, a shared layer counted once in the total."""
from __future__ import annotations

import json
import os

from registry.gc import storage_usage
from tests.registry.seed import image_manifest, push_blob, push_manifest

from .conftest import opened, registry_client

CONFIG = b'{"architecture":"amd64","os":"linux"}'


async def test_usage_counts_shared_layers_once(storage):
    shared, own_a, own_b, orphan = (os.urandom(n) for n in (3000, 2000, 1000, 500))
    manifest_a, manifest_b = image_manifest(CONFIG, [shared, own_a]), image_manifest(CONFIG, [shared, own_b])
    async with registry_client(storage) as client:
        for blob in (shared, own_a, orphan, CONFIG):
            await push_blob(client, "a", blob)
        for blob in (shared, own_b, CONFIG):
            await push_blob(client, "team/b", blob)
        await push_manifest(client, "a", "v1", manifest_a)
        await push_manifest(client, "a", "v2", manifest_a)
        await push_manifest(client, "team/b", "latest", manifest_b)
        await client.post("/v2/a/blobs/uploads/")  # an upload just started: its startedat
    async with opened(storage) as driver:
        usage = await storage_usage(driver)
        only_b = await storage_usage(driver, ["team/b", "nonexistent"])
    common = len(shared) + len(CONFIG)
    a, b = usage["repositories"]
    assert (a["name"], a["tags"], a["manifests"], a["blobs"]) == ("a", 2, 1, 5)
    assert a["bytes"] == common + len(own_a) + len(orphan) + len(manifest_a)
    assert a["exclusiveBytes"] == len(own_a) + len(orphan) + len(manifest_a)
    assert a["uploadBytes"] == len("2026-01-01T00:00:00Z")
    assert (b["name"], b["bytes"], b["exclusiveBytes"]) == ("team/b", common + len(own_b) + len(manifest_b),
                                                           len(own_b) + len(manifest_b))
    everything = common + len(own_a) + len(own_b) + len(orphan) + len(manifest_a) + len(manifest_b)
    assert usage["total"] == {"repositories": 2, "blobs": 7, "bytes": everything}
    assert usage["stored"] == {"blobs": 7, "bytes": everything} and usage["unreferenced"]["blobs"] == 0
    assert [row["name"] for row in only_b["repositories"]] == ["team/b"]
    assert only_b["total"]["bytes"] == b["bytes"]
    assert json.loads(json.dumps(usage)) == usage
