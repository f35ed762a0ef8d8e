"""What a filesystem write acknowledges survives a power cut: the file's
data, its rename, and the entry of every directory made for it are fsynced
before commit() (and so a 201) returns. os.fsync is observed, not replaced."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from registry.app import make_app
from registry.config import RegistryConfig
from storage_backends.filesystem import FilesystemDriver
from tests.registry.seed import image_manifest, push_blob, push_manifest


@pytest.fixture
def fsynced(monkeypatch) -> set[str]:
    """Paths passed to os.fsync from now on."""
    seen: set[str] = set()
    real = os.fsync

    def recording(fd: int) -> None:
        seen.add(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)
    monkeypatch.setattr(os, "fsync", recording)
    return seen


def directories(root: Path) -> set[str]:
    return {str(path) for path in [root, *root.rglob("*")] if path.is_dir()}


async def test_a_put_fsyncs_every_directory_it_made(tmp_path, fsynced):
    root = tmp_path / "root"
    driver = FilesystemDriver(root)
    await driver.put_content("a/b/c/key", b"content")
    assert directories(root) <= fsynced  # root: where a/ was made; a, a/b: where b/, c/ were
    assert any(path.startswith(str(root / "a/b/c/.pyreg-tmp-")) for path in fsynced)  # the data


async def test_a_move_into_new_directories_fsyncs_them(tmp_path, fsynced):
    root = tmp_path / "root"
    driver = FilesystemDriver(root)
    await driver.put_content("x/source", b"content")
    fsynced.clear()
    await driver.move("x/source", "d/e/f/dest")
    assert {str(root), str(root / "d"), str(root / "d/e"), str(root / "d/e/f")} <= fsynced


async def test_an_acknowledged_manifest_put_is_durable(aiohttp_client, tmp_path, fsynced):
    root = tmp_path / "storage"
    client = await aiohttp_client(make_app(RegistryConfig(), FilesystemDriver(root)))
    config, layer = b'{"architecture":"amd64","os":"linux"}', os.urandom(5000)
    await push_blob(client, "team/app", config)
    await push_blob(client, "team/app", layer)
    await push_manifest(client, "team/app", "v1", image_manifest(config, [layer]))
    assert directories(root) <= fsynced
