"""kill -9 of a real `pyreg serve` in the middle of an upload, monolithic and
chunked, on a filesystem and on S3 (moto's server): the next purge pass
(made at start-up and then every interval) leaves no `_uploads` entry, no
temporary file and no open multipart upload behind."""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support.pyreg_server import pyreg_process

MiB = 1 << 20
SIZE = 20 * MiB
SENT = 12 * MiB  # cut here: past a 4 MiB disk staging batch and a 5 MiB S3 part
BLOCK = bytes(range(256)) * 4096
PURGE_SOON = {"REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE": "1s",
              "REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_INTERVAL": "1s"}


def body() -> bytes:
    return (BLOCK * (SIZE // len(BLOCK) + 1))[:SIZE]


def send_part_of(url: str, method: str, target: str, headers: dict[str, str]) -> socket.socket:
    """A request for SIZE bytes of which only SENT are sent."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    sock.sendall(f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {SIZE}\r\n{head}\r\n".encode())
    sock.sendall(body()[:SENT])
    return sock


def start_session(url: str) -> str:
    request = urllib.request.Request(f"{url}/v2/team/app/blobs/uploads/", method="POST")
    return urllib.request.urlopen(request).headers["Location"]


def cut_upload(url: str, kind: str) -> socket.socket:
    if kind == "monolithic":
        digest = "sha256:" + hashlib.sha256(body()).hexdigest()
        return send_part_of(url, "POST", f"/v2/team/app/blobs/uploads/?digest={digest}", {})
    return send_part_of(url, "PATCH", start_session(url), {"Content-Range": f"0-{SIZE - 1}"})


def poll(check, what: str, deadline: float = 30):
    end = time.monotonic() + deadline
    while not (result := check()):
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def kill(process) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


# -- filesystem -----------------------------------------------------------------
def temporaries(root: Path) -> list[Path]:
    return sorted(root.rglob(".pyreg-tmp-*"))


def upload_entries(root: Path) -> list[Path]:
    return sorted(root.glob("docker/registry/v2/repositories/**/_uploads/*"))


def purged(root: Path) -> bool:
    try:
        return not upload_entries(root) and not temporaries(root)
    except FileNotFoundError:  # a directory went while glob walked it: the purge is at work
        return False


@pytest.mark.parametrize("kind", ["monolithic", "chunked"])
def test_kill_during_upload_on_disk_then_purge_leaves_nothing(tmp_path, kind):
    root = tmp_path / "storage"
    with pyreg_process(root) as (url, process):
        sock = cut_upload(url, kind)
        poll(lambda: any(path.stat().st_size >= 4 * MiB for path in temporaries(root)),
             "the cut upload's bytes on disk")
        kill(process)
        sock.close()
    assert upload_entries(root) and temporaries(root), "the kill left nothing to purge"
    started = [path for path in upload_entries(root) if (path / "startedat").exists()]
    assert len(started) == (1 if kind == "chunked" else 0)
    with pyreg_process(root, env=PURGE_SOON) as (url, _process):
        poll(lambda: purged(root), "the purge")
        assert urllib.request.urlopen(f"{url}/v2/").status == 200


async def test_stale_temporary_files_anywhere_are_purged(tmp_path):
    """A kill between creating a link's temporary file and renaming it: the
    purge removes it once idle longer than the age, never a fresh one."""
    from registry.config import PurgePolicy
    from registry.maintenance import purge_pass
    from registry.store import RegistryStore
    from storage_backends.filesystem import FilesystemDriver
    store = RegistryStore(FilesystemDriver(tmp_path))
    links = tmp_path / "docker/registry/v2/repositories/team/app/_manifests/tags/v1/current"
    links.mkdir(parents=True)
    old, fresh = links / ".pyreg-tmp-0123-link", links / ".pyreg-tmp-4567-link"
    old.write_text("sha256:...")
    fresh.write_text("sha256:...")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    purged = await purge_pass(store, PurgePolicy(age=600))
    assert purged == ["docker/registry/v2/repositories/team/app/_manifests/tags/v1/current/.pyreg-tmp-0123-link"]
    assert not old.exists() and fresh.exists()
    assert await purge_pass(store, PurgePolicy(age=600, dry_run=True)) == []


# -- S3 -----------------------------------------------------------------------------
@pytest.fixture
def s3_config(tmp_path, moto_s3):
    bucket = moto_s3.create_bucket()
    storage = moto_s3.storage_config(bucket, rootdirectory="/reg", chunksize=5 * MiB)
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"version": 0.1, "storage": storage}))
    return config, bucket


def open_multipart_uploads(moto_s3, bucket: str) -> list[str]:
    return [upload["Key"] for upload in moto_s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def upload_objects(moto_s3, bucket: str) -> list[str]:
    listing = moto_s3.client().list_objects_v2(Bucket=bucket, Prefix="reg/")
    return [entry["Key"] for entry in listing.get("Contents", []) if "/_uploads/" in entry["Key"]]


@pytest.mark.parametrize("kind", ["monolithic", "chunked"])
def test_kill_during_upload_on_s3_then_purge_aborts_the_multipart_upload(s3_config, moto_s3, kind):
    config, bucket = s3_config
    with pyreg_process(None, ["--config", str(config)]) as (url, process):
        sock = cut_upload(url, kind)
        poll(lambda: open_multipart_uploads(moto_s3, bucket), "a multipart upload in progress")
        kill(process)
        sock.close()
    uploads = open_multipart_uploads(moto_s3, bucket)
    assert len(uploads) == 1 and uploads[0].startswith("reg/docker/registry/v2/repositories/team/app/_uploads/")
    assert bool(upload_objects(moto_s3, bucket)) == (kind == "chunked")  # chunked: its startedat
    with pyreg_process(None, ["--config", str(config)], env=PURGE_SOON) as (url, _process):
        poll(lambda: not open_multipart_uploads(moto_s3, bucket) and not upload_objects(moto_s3, bucket),
             "the purge")
