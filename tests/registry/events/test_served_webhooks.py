"""Webhooks from a real `pyreg serve` process to a real receiver on 127.0.0.1:
registry:2's envelope for push, pull, mount and delete (one worker and
two sharing one queue), a hanging receiver that does not slow pushes, and
events queued while the receiver was down delivered after a restart."""
from __future__ import annotations

import json
import os
import statistics
import time

import aiohttp
from aiohttp import web

from registry.events.envelope import MEDIA_TYPE
from tests.registry.seed import image_manifest, push_blob, push_manifest, sha256
from tests.support.processes import free_port
from tests.support.pyreg_server import pyreg_server

from .conftest import Receiver, eventually
from .test_webhooks import CONFIG, push_pull_mount_delete


def config_file(tmp_path, url: str | None, **endpoint) -> str:
    config = {"version": "0.1", "storage": {"filesystem": {"rootdirectory": str(tmp_path / "data")}}}
    if url is not None:
        config["notifications"] = {"endpoints": [{"name": "hook", "url": url, "timeout": "300ms",
                                                  "backoff": "100ms", **endpoint}]}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"config-{len(list(tmp_path.glob('config-*')))}.yml"
    path.write_text(json.dumps(config))  # YAML reads JSON
    return str(path)


async def serve_receiver(aiohttp_server, receiver: Receiver, port: int | None = None):
    app = web.Application()
    app.router.add_post("/events", receiver.handle)
    server = await aiohttp_server(app, port=port) if port else await aiohttp_server(app)
    receiver.url = str(server.make_url("/events"))
    return server


def actions(events) -> list[tuple[str, str]]:
    return [(e["action"], e["target"].get("digest") or e["target"].get("tag")) for e in events]


async def test_served_registry_sends_registry2_envelopes(aiohttp_server, tmp_path):
    receiver = Receiver()
    await serve_receiver(aiohttp_server, receiver)
    with pyreg_server(None, ["--config", config_file(tmp_path, receiver.url)]) as url:
        async with aiohttp.ClientSession(base_url=url, headers={"X-Request-Id": "trace-42"}) as client:
            seen = await push_pull_mount_delete(client)
        await eventually(lambda: len(receiver.events) >= 7)
    assert receiver.headers[0]["Content-Type"] == MEDIA_TYPE
    assert actions(receiver.events) == [
        ("push", seen["layer"]), ("push", sha256(CONFIG)), ("push", seen["manifest"]), ("pull", seen["manifest"]),
        ("pull", seen["layer"]), ("mount", seen["layer"]), ("delete", "v1")]
    push = receiver.events[2]
    assert push["target"]["url"] == f"{url}/v2/team/app/manifests/{seen['manifest']}"
    assert push["target"]["size"] == seen["manifest_size"] and push["target"]["tag"] == "v1"
    assert push["request"]["id"] == "trace-42" and push["request"]["method"] == "PUT"
    assert push["source"]["addr"].endswith(f":{url.rsplit(':', 1)[1]}") and push["source"]["instanceID"]
    assert (tmp_path / "data/docker/registry/v2/_pyreg/events").is_dir()


async def test_two_workers_share_one_queue_and_send_each_event_once(aiohttp_server, tmp_path):
    receiver = Receiver()
    await serve_receiver(aiohttp_server, receiver)
    with pyreg_server(None, ["--config", config_file(tmp_path, receiver.url), "--workers", "2"]) as url:
        async with aiohttp.ClientSession(base_url=url) as client:
            seen = await push_pull_mount_delete(client)
            for _ in range(10):  # new connections: both workers take some
                async with aiohttp.ClientSession(base_url=url) as fresh:
                    assert (await fresh.get(f"/v2/team/app/blobs/{seen['layer']}")).status == 200
        await eventually(lambda: len(receiver.events) >= 17)
        time.sleep(0.5)  # a duplicate would arrive by now
    assert len({event["id"] for event in receiver.events}) == len(receiver.events) == 17
    assert sorted(actions(receiver.events)).count(("pull", seen["layer"])) == 11
    assert len({event["source"]["instanceID"] for event in receiver.events}) == 2


async def pushes_timed(url: str, rounds: int, name: str) -> list[float]:
    """Seconds per push of a small layer and a manifest naming it."""
    times = []
    async with aiohttp.ClientSession(base_url=url) as client:
        await push_blob(client, name, CONFIG)
        for number in range(rounds):
            layer = os.urandom(2000)
            started = time.perf_counter()
            await push_blob(client, name, layer)
            await push_manifest(client, name, f"t{number}", image_manifest(CONFIG, [layer]))
            times.append(time.perf_counter() - started)
    return times


async def test_a_hanging_receiver_does_not_slow_pushes(aiohttp_server, tmp_path):
    receiver = Receiver(mode="hang")
    await serve_receiver(aiohttp_server, receiver)
    with pyreg_server(None, ["--config", config_file(tmp_path / "plain", None)]) as plain, \
            pyreg_server(None, ["--config", config_file(tmp_path, receiver.url, threshold=1)]) as hooked:
        without, with_hang = [], []
        for batch in range(3):  # interleaved, so the machine's noise falls on both
            without += await pushes_timed(plain, 10, f"plain{batch}")
            with_hang += await pushes_timed(hooked, 10, f"hooked{batch}")
        assert len(receiver.attempts) >= 2  # it did hang up deliveries, more than once
    assert receiver.envelopes == []
    median_without, median_with = statistics.median(without), statistics.median(with_hang)
    print(f"push median: {median_without * 1000:.1f} ms without a receiver, "
          f"{median_with * 1000:.1f} ms with a hanging one ({median_with / median_without:.2f}x)")
    assert median_with < 2.5 * median_without + 0.01
    assert max(with_hang) < 1.0  # never waits out the receiver's 300 ms timeout per push


async def test_events_queued_while_the_receiver_is_down_arrive_after_a_restart(aiohttp_server, tmp_path):
    port = free_port()
    config = config_file(tmp_path, f"http://127.0.0.1:{port}/events", threshold=1)
    with pyreg_server(None, ["--config", config]) as url:
        async with aiohttp.ClientSession(base_url=url) as client:
            await push_blob(client, "app", CONFIG)
            digest = await push_manifest(client, "app", "v1", image_manifest(CONFIG, []))
    queue = next((tmp_path / "data/docker/registry/v2/_pyreg/events").iterdir())
    assert sum(1 for name in os.listdir(queue) if name.endswith(".json")) >= 1  # waiting on disk
    receiver = Receiver()
    await serve_receiver(aiohttp_server, receiver, port)
    with pyreg_server(None, ["--config", config]):
        await eventually(lambda: len(receiver.events) >= 2)
        await eventually(lambda: not any(name.endswith(".json") for name in os.listdir(queue)))
    assert actions(receiver.events) == [("push", sha256(CONFIG)), ("push", digest)]
