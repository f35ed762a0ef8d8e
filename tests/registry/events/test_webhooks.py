"""Webhooks from the real registry app to a real receiver: registry:2's
envelope for push, pull, mount and delete; the ignore settings; a receiver
that hangs or fails does not hold pushes up and loses nothing."""
from __future__ import annotations

import os

from registry.events.envelope import MEDIA_TYPE
from tests.registry.seed import image_manifest, push_blob, push_manifest, sha256

from .conftest import eventually, notifications, registry_with_events

CONFIG = b'{"architecture":"amd64","os":"linux"}'


async def push_pull_mount_delete(client) -> dict:
    layer = os.urandom(5000)
    await push_blob(client, "team/app", layer)  # monolithic POST ?digest=
    start = await client.post("/v2/team/app/blobs/uploads/")
    finish = await client.put(f"{start.headers['Location']}?digest={sha256(CONFIG)}", data=CONFIG)
    assert finish.status == 201
    manifest = image_manifest(CONFIG, [layer])
    await push_manifest(client, "team/app", "v1", manifest)
    assert (await client.get("/v2/team/app/manifests/v1")).status == 200
    assert (await client.get(f"/v2/team/app/blobs/{sha256(layer)}")).status == 200
    mount = await client.post(f"/v2/other/blobs/uploads/?mount={sha256(layer)}&from=team/app")
    assert mount.status == 201
    assert (await client.delete("/v2/team/app/manifests/v1")).status == 202
    return {"layer": sha256(layer), "layer_size": len(layer), "manifest": sha256(manifest),
            "manifest_size": len(manifest)}


async def test_registry2_envelope_for_push_pull_mount_and_delete(aiohttp_client, receiver, tmp_path):
    client, _ = await registry_with_events(aiohttp_client, notifications(
        receiver.url, headers={"Authorization": ["Bearer abc"]}), tmp_path)
    seen = await push_pull_mount_delete(client)
    await eventually(lambda: len(receiver.events) >= 7)
    assert receiver.headers[0]["Content-Type"] == MEDIA_TYPE
    assert receiver.headers[0]["Authorization"] == "Bearer abc"
    actions = [(e["action"], e["target"].get("digest") or e["target"].get("tag")) for e in receiver.events]
    assert actions == [("push", seen["layer"]), ("push", sha256(CONFIG)), ("push", seen["manifest"]),
                       ("pull", seen["manifest"]), ("pull", seen["layer"]), ("mount", seen["layer"]),
                       ("delete", "v1")]
    push = receiver.events[2]
    assert set(push) == {"id", "timestamp", "action", "target", "request", "actor", "source"}
    assert push["target"] == {
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "size": seen["manifest_size"],
        "length": seen["manifest_size"], "digest": seen["manifest"], "repository": "team/app",
        "tag": "v1", "url": str(client.make_url(f"/v2/team/app/manifests/{seen['manifest']}"))}
    assert push["request"]["method"] == "PUT" and push["request"]["useragent"].startswith("Python")
    assert push["source"]["addr"] == "registry.test:5000" and push["source"]["instanceID"]
    chunked = receiver.events[1]["target"]
    assert chunked["size"] == len(CONFIG) and chunked["mediaType"] == "application/octet-stream"
    assert receiver.events[5]["target"]["fromRepository"] == "team/app"
    assert receiver.events[5]["target"]["repository"] == "other"


async def test_ignored_media_types_and_actions_are_not_sent(aiohttp_client, receiver, tmp_path):
    section = notifications(receiver.url, ignoredmediatypes=["application/octet-stream"],
                            ignore={"actions": ["pull"]})
    client, _ = await registry_with_events(aiohttp_client, section, tmp_path)
    seen = await push_pull_mount_delete(client)
    await eventually(lambda: len(receiver.events) >= 2)
    assert [(e["action"], e["target"].get("digest") or e["target"].get("tag")) for e in receiver.events] == [
        ("push", seen["manifest"]), ("delete", "v1")]


async def test_include_references_lists_what_a_pushed_manifest_names(aiohttp_client, receiver, tmp_path):
    section = notifications(receiver.url, events={"includereferences": True}, ignore={"actions": ["pull"]})
    client, _ = await registry_with_events(aiohttp_client, section, tmp_path)
    seen = await push_pull_mount_delete(client)
    await eventually(lambda: any(e["target"].get("references") for e in receiver.events))
    push = next(e for e in receiver.events if e["target"].get("digest") == seen["manifest"])
    assert [ref["digest"] for ref in push["target"]["references"]] == [sha256(CONFIG), seen["layer"]]


async def test_a_hanging_receiver_holds_no_push_up_and_gets_everything_later(aiohttp_client, receiver, tmp_path):
    receiver.mode = "hang"
    client, notifier = await registry_with_events(aiohttp_client, notifications(receiver.url), tmp_path)
    layer = os.urandom(100)
    await push_blob(client, "hung", layer)
    await push_blob(client, "hung", CONFIG)
    for number in range(30):
        await push_manifest(client, "hung", f"t{number}", image_manifest(CONFIG, [layer], annotations={"n": str(number)}))
    assert receiver.envelopes == []  # every push answered while the receiver never did
    queue = notifier.queues[0][1]
    await eventually(lambda: queue.size() == 32)  # all of them on disk, none lost
    await eventually(lambda: notifier._workers[0].failures >= 2)  # timed out, retrying
    receiver.mode = "ok"
    await eventually(lambda: len(receiver.events) == 32)
    assert [e["target"].get("tag") for e in receiver.events[2:]] == [f"t{n}" for n in range(30)]
    await eventually(lambda: queue.size() == 0)


async def test_after_threshold_failures_it_backs_off_then_delivers(aiohttp_client, receiver, tmp_path):
    receiver.mode = "fail"
    section = notifications(receiver.url, threshold=3, backoff="300ms")
    client, _ = await registry_with_events(aiohttp_client, section, tmp_path)
    await push_blob(client, "app", CONFIG)
    await eventually(lambda: len(receiver.attempts) >= 6)
    receiver.mode = "ok"
    await eventually(lambda: len(receiver.events) == 1)
    gaps = [later - earlier for earlier, later in zip(receiver.attempts, receiver.attempts[1:])]
    assert all(gap >= 0.28 for gap in gaps[2:5])  # from the third failure on, it waits `backoff`
