"""`pyreg gc`, `pyreg du` and `pyreg delete` as commands, against a real
`pyreg serve` process over a directory (and Distribution 2.8.2 for a
registry without pyreg's endpoints), and the schedule in a served registry."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from registry.gc.lease import SweepLease
from storage_backends.filesystem import FilesystemDriver
from tests.registry.seed import image_manifest, push_blob, push_manifest, sha256
from tests.support.processes import distribution_registry
from tests.support.pyreg_server import pyreg_process, pyreg_server
from tests.support.registry_layout import V2, age_directory

from .conftest import EAGER

CONFIG = b'{"architecture":"amd64","os":"linux"}'
REPO_ROOT = Path(__file__).resolve().parents[3]


def pyreg(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "pyreg_cli.main", "--root", str(tmp_path / "client"), *args],
                          capture_output=True, text=True, timeout=120, env=env, cwd=REPO_ROOT)


def blob_exists(root: Path, digest: str) -> bool:
    hexes = digest.split(":", 1)[1]
    return (root / V2 / "blobs" / "sha256" / hexes[:2] / hexes / "data").exists()


async def push_scene(url: str) -> dict:
    shared, own, orphan = os.urandom(3000), os.urandom(2000), os.urandom(1000)
    async with aiohttp.ClientSession(base_url=url) as client:
        for blob in (CONFIG, shared, own, orphan):
            await push_blob(client, "team/app", blob)
        for blob in (CONFIG, shared):
            await push_blob(client, "other", blob)
        app, other = image_manifest(CONFIG, [shared, own]), image_manifest(CONFIG, [shared])
        await push_manifest(client, "team/app", "v1", app)
        await push_manifest(client, "team/app", "v2", app)
        await push_manifest(client, "other", "latest", other)
    return {"shared": sha256(shared), "own": sha256(own), "orphan": sha256(orphan), "app": sha256(app),
            "app_bytes": len(app) + len(own) + len(shared) + len(CONFIG) + len(orphan),
            "freed": len(app) + len(own) + len(orphan)}


async def test_du_delete_and_gc_commands_against_a_served_registry(tmp_path):
    storage = tmp_path / "storage"
    with pyreg_server(storage) as url:
        host = url.removeprefix("http://")
        scene = await push_scene(url)
        usage = json.loads(pyreg(tmp_path, "du", host, "--format", "json").stdout)
        assert [row["name"] for row in usage["repositories"]] == ["other", "team/app"]
        assert usage["repositories"][1]["bytes"] == scene["app_bytes"]
        table = pyreg(tmp_path, "du", host)
        assert table.returncode == 0 and "team/app" in table.stdout and "total" in table.stdout
        one = json.loads(pyreg(tmp_path, "du", f"{host}/team/app", "--format", "json").stdout)
        assert one["name"] == "team/app" and one["tags"] == 2

        untag = pyreg(tmp_path, "delete", "--untag", f"{host}/team/app:v2")
        assert untag.returncode == 0 and untag.stdout.strip() == f"Untagged: {host}/team/app:v2"
        deleted = pyreg(tmp_path, "delete", "--all", f"{host}/team/app")
        assert deleted.returncode == 0, deleted.stderr
        assert deleted.stdout.startswith("Deleted repository team/app: 1 tags, 1 manifests")
        gone = pyreg(tmp_path, "du", f"{host}/team/app")
        assert gone.returncode == 1 and "NAME_UNKNOWN" in gone.stderr and len(gone.stderr.splitlines()) == 1

        age_directory(storage, 7200)
        dry = pyreg(tmp_path, "gc", "--storage", str(storage), "--dry-run")
        assert dry.returncode == 0 and f"would remove blob {scene['orphan']}" in dry.stdout
        assert blob_exists(storage, scene["orphan"])
        done = pyreg(tmp_path, "gc", "--storage", str(storage), "--format", "json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        removed = {entry["name"] for entry in report["removed"] if entry["kind"] == "blob"}
        assert removed == {scene["orphan"], scene["own"], scene["app"]}
        assert report["bytesFreed"] == scene["freed"]
        assert not blob_exists(storage, scene["own"]) and blob_exists(storage, scene["shared"])
        async with aiohttp.ClientSession(base_url=url) as client:
            assert (await client.get("/v2/other/manifests/latest")).status == 200
            assert (await client.get(f"/v2/other/blobs/{scene['shared']}")).status == 200


async def test_gc_command_errors_are_one_line_with_their_exit_codes(tmp_path):
    storage = tmp_path / "storage"
    storage.mkdir()
    read_only = tmp_path / "readonly.yml"
    read_only.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n"
                         "  maintenance:\n    readonly:\n      enabled: true\n")
    typo = tmp_path / "typo.yml"
    typo.write_text("version: 0.1\nstorage:\n  maintenance:\n    gc:\n      intervall: 1h\n")
    rows = [
        (["gc", "--storage", str(storage), "--grace", "3days"], 2, "--grace must be a duration"),
        (["gc", "--config", str(read_only)], 2, "read-only"),
        (["gc", "--config", str(typo)], 2, "storage.maintenance.gc.intervall"),
        (["du", "127.0.0.1:1"], 1, "127.0.0.1:1"),
        (["du", "no-host"], 1, "pyreg du needs a registry"),
        (["delete", "--all", "127.0.0.1:1/app:v1"], 1, "--all takes a repository"),
    ]
    for args, code, says in rows:
        result = pyreg(tmp_path, *args)
        assert (result.returncode, len(result.stderr.splitlines())) == (code, 1), (args, result.stderr)
        assert says in result.stderr, (args, result.stderr)
    driver = FilesystemDriver(storage)
    lease = SweepLease(driver, EAGER)
    await lease.acquire()
    try:
        busy = await asyncio.to_thread(pyreg, tmp_path, "gc", "--storage", str(storage))
        assert busy.returncode == 75 and "another garbage collection is running" in busy.stderr
    finally:
        await lease.release()
        await driver.close()
    assert pyreg(tmp_path, "gc", "--storage", str(storage)).returncode == 0


def test_du_against_a_registry_without_the_endpoint_says_so(tmp_path):
    with distribution_registry(tmp_path / "distribution") as url:
        result = pyreg(tmp_path, "du", url.removeprefix("http://"))
    assert result.returncode == 1 and "does not offer storage usage" in result.stderr


async def test_the_schedule_collects_in_a_served_registry(tmp_path):
    storage = tmp_path / "storage"
    config = tmp_path / "config.yml"
    config.write_text(json.dumps({"version": 0.1, "storage": {"filesystem": {"rootdirectory": str(storage)},
                      "maintenance": {"gc": {"enabled": True, "interval": "1s", "grace": "2s", "touchage": "0s",
                                             "commitwindow": "0s", "lease": "5s"}}}}))
    log = tmp_path / "serve.log"
    with open(log, "wb") as stderr, pyreg_process(None, ["--config", str(config), "--workers", "2"],
                                                  stderr=stderr) as (url, _process):
        async with aiohttp.ClientSession(base_url=url) as client:
            orphan = await push_blob(client, "app", os.urandom(800))
            kept = await push_blob(client, "app", kept_bytes := os.urandom(900))
            await push_blob(client, "app", CONFIG)
            await push_manifest(client, "app", "v1", image_manifest(CONFIG, [kept_bytes]))
            deadline = time.monotonic() + 20
            while blob_exists(storage, orphan) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert not blob_exists(storage, orphan), log.read_text()[-2000:]
            assert (await client.get("/v2/app/manifests/v1")).status == 200
            assert blob_exists(storage, kept)
    text = log.read_text()
    assert "gc removed" in text and "Traceback" not in text
