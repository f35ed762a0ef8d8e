"""A collection process sweeping while pushes go on, on a directory and on S3
(moto): new images pushed over HTTP to a real `pyreg serve`, and manifests
that reuse old unreferenced blobs (a client that found them with HEAD and
skipped the upload) PUT to the same server, whose manifest PUT goes through
the sweep guard. Afterwards every
push that succeeded is pullable, every failure was MANIFEST_BLOB_UNKNOWN,
storage is consistent, and the garbage nobody reused is gone."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import threading

import pytest

import aiohttp

from registry.gc import Timing
from tests.registry.seed import image_manifest
from tests.storage_backends.registry2 import TinyImage, push_image
from tests.support.pyreg_server import pyreg_server
from tests.support.registry_layout import blob_key, make_layout

from .checks import assert_consistent, pull
from .conftest import gc_yaml, lay_out, make_storage, opened, put_manifest, refused_blob_unknown, registry_client
from .test_kill import start_collection

# On disk the data is aged by two hours and the defaults apply; S3 times
# cannot be moved, so there everything is scaled down to seconds.
S3_TIMING = Timing(grace=3.0, touch_age=1.0, commit_window=1.0, slack=1.0, lease=5.0, poll=0.05)


def push_fresh_images(url: str, stop: threading.Event, pushed: list[str]) -> None:
    number = 0
    while not stop.is_set() and number < 200:
        push_image(url, f"fresh/n{number % 5}", f"t{number}", TinyImage.make(f"fresh-{number}"))
        pushed.append(f"fresh/n{number % 5}:t{number}")
        number += 1


async def reuse_orphans(url: str, layout, process, outcomes: dict[str, list]) -> None:
    """Manifests naming old orphan blobs (config and layer), as a client that
    found them with HEAD and skipped the upload would push them."""
    by_repo: dict[str, list[str]] = {}
    for key, raw in layout.files.items():
        if "/_layers/" in key and raw.decode() in layout.orphan_blobs:
            by_repo.setdefault(key.split("/repositories/", 1)[1].split("/_layers/")[0], []).append(raw.decode())
    pairs = [(repo, digests[i:i + 2]) for repo, digests in sorted(by_repo.items())
             for i in range(0, len(digests) - 1, 2)]
    random.Random(3).shuffle(pairs)
    async with aiohttp.ClientSession(base_url=url) as client:
        for number, (repo, (config, layer)) in enumerate(pairs):
            if process.poll() is not None:
                return
            raw = image_manifest(layout.files[blob_key(config)], [layout.files[blob_key(layer)]])
            status, body = await put_manifest(client, repo, f"reuse{number}", raw)
            if status == 201:
                outcomes["landed"].append((repo, f"reuse{number}", config, layer))
            else:
                assert refused_blob_unknown(status, body), (status, body)
                outcomes["refused"].append((repo, number))


@pytest.mark.parametrize("kind", ["filesystem", "s3"])
async def test_collection_under_concurrent_pushes_loses_nothing(kind, tmp_path, request):
    endpoint = request.getfixturevalue("gc_s3") if kind == "s3" else None
    storage = make_storage(kind, tmp_path, endpoint)
    if kind == "filesystem":
        layout = make_layout(repositories=20, tagged=5, untagged=2, bases=10, orphans=2400)
        spec = await lay_out(storage, layout, endpoint)
        timing = dataclasses.replace(Timing(), lease=5.0)
        server_args = {"storage": storage.root}  # the writers' defaults: old data is touched
    else:
        layout = make_layout(repositories=10, tagged=3, untagged=2, bases=5, orphans=400)
        spec = await lay_out(storage, layout, endpoint)
        await asyncio.sleep(S3_TIMING.keep_for + 0.5)  # the layout is old by then
        timing = S3_TIMING
        config = tmp_path / "config.yml"
        settings = endpoint.storage_config(storage.bucket, rootdirectory="/r")
        settings["maintenance"] = {"gc": gc_yaml(S3_TIMING)}
        config.write_text(json.dumps({"version": 0.1, "storage": settings}))
        server_args = {"storage": None, "args": ["--config", str(config)]}

    outcomes: dict[str, list] = {"landed": [], "refused": []}
    fresh: list[str] = []
    stop = threading.Event()
    with pyreg_server(**server_args) as url:
        process = start_collection(spec, timing, delete_untagged=False)
        pusher = asyncio.create_task(asyncio.to_thread(push_fresh_images, url, stop, fresh))
        await reuse_orphans(url, layout, process, outcomes)
        stdout, stderr = await asyncio.to_thread(process.communicate, timeout=300)
        stop.set()
        await pusher
    assert process.returncode == 0, stderr.decode()[-2000:]
    report = json.loads(stdout)
    assert outcomes["landed"] or outcomes["refused"], "no push raced the collection"
    assert fresh, "no image was pushed over HTTP while it ran"
    assert report["counts"]["blob"] > 0

    async with opened(storage) as driver:
        await assert_consistent(driver)
    async with registry_client(storage) as client:
        for repo, tag, config, layer in outcomes["landed"]:
            await pull(client, repo, tag)
        for reference in fresh:
            await pull(client, *reference.split(":"))
        for repo, tag in sorted(layout.tags)[::5]:
            await pull(client, repo, tag)
    relied_on = {d for _, _, config, layer in outcomes["landed"] for d in (config, layer)}
    removed = {entry["name"] for entry in report["removed"] if entry["kind"] == "blob"}
    assert not removed & (layout.kept(delete_untagged=False) | relied_on)
