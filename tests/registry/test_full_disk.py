"""A full disk (a 3 MiB tmpfs this test mounts, as root): every write that
does not fit answers 507 with an OCI body saying the storage is full, is
logged in one line without a traceback, and leaves nothing behind; once
space is freed the registry takes writes again."""
from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from pathlib import Path

import pytest

from registry.app import make_app
from registry.config import RegistryConfig
from storage_backends.filesystem import FilesystemDriver

from .api_table import all_keys
from .seed import image_manifest, push_blob, sha256

MiB = 1 << 20


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def leftovers(root: Path) -> list[str]:
    """Temporary files, and directories holding no file."""
    found = [str(path) for path in root.rglob(".pyreg-tmp-*")]
    found += [str(path) for path in root.rglob("*") if path.is_dir() and not any(path.iterdir())]
    return found


async def test_a_full_disk_answers_507_and_leaves_nothing(aiohttp_client, small_disk, caplog):
    driver = FilesystemDriver(small_disk / "storage")
    client = await aiohttp_client(make_app(RegistryConfig(), driver))
    config = b'{"architecture":"amd64","os":"linux"}'
    await push_blob(client, "team/app", config)
    before = await all_keys(driver)
    big = os.urandom(4 * MiB)
    caplog.set_level(logging.INFO, logger="pyreg.registry")

    monolithic = await client.post(f"/v2/team/app/blobs/uploads/?digest={sha256(big)}", data=big)
    start = await client.post("/v2/other/blobs/uploads/")
    chunked = await client.patch(start.headers["Location"], data=big)
    for response in (monolithic, chunked):
        assert response.status == 507
        assert (await response.json())["errors"] == [{"code": "UNKNOWN", "message": "the registry's storage is full"}]
    status = await client.get(start.headers["Location"])
    assert status.status == 204 and status.headers["Range"] == "0-0"  # the chunk was undone
    assert await all_keys(driver) - before <= {
        f"docker/registry/v2/repositories/other/_uploads/{start.headers['Docker-Upload-UUID']}/startedat"}
    assert not leftovers(small_disk / "storage")

    filler = small_disk / "filler"
    with open(filler, "wb") as file:  # what is left, to the last byte
        try:
            while file.write(b"\0" * 65536):
                file.flush()
        except OSError:
            pass
    manifest = image_manifest(config, [])
    put = await client.put("/v2/team/app/manifests/v1", data=manifest,
                           headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert put.status == 507 and not leftovers(small_disk / "storage")
    records = [record for record in caplog.records if "storage full" in record.getMessage()]
    assert len(records) == 3 and all(record.exc_info is None for record in records)
    assert all("\n" not in record.getMessage() for record in records)

    filler.unlink()
    assert (await client.put("/v2/team/app/manifests/v1", data=manifest, headers={
        "Content-Type": "application/vnd.oci.image.manifest.v1+json"})).status == 201
    small = os.urandom(MiB)
    assert await push_blob(client, "team/app", small) == "sha256:" + hashlib.sha256(small).hexdigest()
