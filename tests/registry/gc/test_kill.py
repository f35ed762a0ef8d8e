"""kill -9 of a real collection process in the middle of its sweep, on a
directory and on S3 (moto): afterwards every manifest is pullable and every
blob matches its digest; the next collection finishes the work and leaves
exactly what is referenced."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support.registry_layout import V2, blob_key, make_layout

from .checks import assert_consistent, pull
from .conftest import EAGER, gc_yaml, lay_out, make_storage, opened, registry_client

TIMING = dataclasses.replace(EAGER, lease=2.0)
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def start_collection(spec: dict, timing, delete_untagged: bool = True) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": REPO_ROOT}
    flags = ["--delete-untagged"] if delete_untagged else []
    return subprocess.Popen([sys.executable, "-m", "tests.registry.gc.gc_process", json.dumps(spec),
                             json.dumps(dataclasses.asdict(timing)), *flags],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def start_gc_command(root, timing, config_path) -> subprocess.Popen:
    """`pyreg gc` itself over a directory, with the timing as its config's
    storage.maintenance.gc keys."""
    config_path.write_text(json.dumps({"version": 0.1, "storage": {
        "filesystem": {"rootdirectory": str(root)}, "maintenance": {"gc": gc_yaml(timing)}}}))
    env = {**os.environ, "PYTHONPATH": REPO_ROOT}
    return subprocess.Popen([sys.executable, "-m", "pyreg_cli.main", "gc", "--config", str(config_path),
                             "--delete-untagged", "--format", "json"],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_once_deleting(process: subprocess.Popen, early: set[str], present, timeout: float = 120) -> None:
    """SIGKILL as soon as one of the first blobs to go is gone."""
    deadline = time.monotonic() + timeout
    while present(early) == early:
        assert process.poll() is None, f"collection ended before it was killed: {process.stderr.read()[-500:]}"
        assert time.monotonic() < deadline, "collection never started deleting"
        time.sleep(0.001)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def first_doomed(layout) -> set[str]:
    """Orphans of the first shard (digests starting with 0): the sweep's first blob deletes."""
    return {blob_key(digest) for digest in layout.orphan_blobs if digest.startswith("sha256:0")}


@pytest.mark.parametrize("kind", ["filesystem", "s3"])
async def test_kill_mid_sweep_loses_nothing_and_the_next_run_finishes(kind, tmp_path, request):
    endpoint = request.getfixturevalue("gc_s3") if kind == "s3" else None
    storage = make_storage(kind, tmp_path, endpoint)
    if kind == "filesystem":
        layout = make_layout(repositories=40, tagged=10, untagged=5, bases=20, orphans=1500)
        spec = await lay_out(storage, layout, endpoint)

        def present(keys: set[str]) -> set[str]:
            return {key for key in keys if os.path.exists(storage.root / key)}
    else:
        layout = make_layout(repositories=10, tagged=4, untagged=4, bases=8, orphans=400)
        spec = await lay_out(storage, layout, endpoint)
        await storage.settle()
        client = endpoint.client()

        def present(keys: set[str]) -> set[str]:
            listed = client.list_objects_v2(Bucket=storage.bucket, Prefix=f"r/{V2}/blobs/sha256/0")
            return keys & {entry["Key"][2:] for entry in listed.get("Contents", [])}
    timing = dataclasses.replace(TIMING, slack=storage.timing.slack)
    if kind == "filesystem":  # the command itself (its clock's slack is the default: data is old)
        process = start_gc_command(storage.root, timing, tmp_path / "gc.yml")
    else:  # moto's times cannot be aged: a collection with a second of slack
        process = start_collection(spec, timing)
    await asyncio.to_thread(kill_once_deleting, process, first_doomed(layout), present)

    async with opened(storage) as driver:
        await assert_consistent(driver)
        async with registry_client(storage) as client:
            for repo, tag in sorted(layout.tags)[::7]:
                await pull(client, repo, tag)
        await asyncio.sleep(timing.lease + storage.settle_seconds)  # the killed sweep's lease runs out
        from registry.gc import collect
        report = await collect(driver, delete_untagged=True, timing=timing)
        assert report.removed, "the second run had work left"
        stored = {"sha256:" + info.key.split("/")[-2] for info in await _walk(driver, f"{V2}/blobs")}
        assert stored == layout.kept(delete_untagged=True)
        assert await _walk(driver, f"{V2}/_pyreg") == []
        await assert_consistent(driver)


async def _walk(driver, prefix):
    from storage_backends.bulk import walk_files
    return await walk_files(driver, prefix)
