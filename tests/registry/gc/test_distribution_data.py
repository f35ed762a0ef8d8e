"""A directory written by Distribution 2.8.2: pyreg's collection removes the
same blobs as Distribution's own `garbage-collect` on a copy of it, and both
registries still serve everything that is left."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from registry.gc import collect
from storage_backends.filesystem import FilesystemDriver
from tests.storage_backends.registry2 import TinyImage, pull_image, push_image, sha256
from tests.support.processes import distribution_registry, require_binary

from .checks import assert_consistent, pull
from .conftest import EAGER, Storage, registry_client


def push_history(url: str) -> dict[str, TinyImage]:
    """Tags that moved (leaving untagged revisions), two repositories, and a
    blob uploaded without any manifest."""
    images = {name: TinyImage.make(name) for name in ("first", "second", "moved", "other")}
    push_image(url, "dist/app", "v1", images["first"])
    push_image(url, "dist/app", "v2", images["second"])
    push_image(url, "dist/app", "v1", images["moved"])  # "first" is now untagged
    push_image(url, "dist/other", "latest", images["other"])
    orphan = b"never referenced" * 100
    request = urllib.request.Request(f"{url}/v2/dist/app/blobs/uploads/?digest={sha256(orphan)}",
                                     data=orphan, method="POST")
    urllib.request.urlopen(request, timeout=30).close()
    return images


def stored_blobs(root: Path) -> set[str]:
    found = set()
    for directory, _, names in os.walk(root / "docker/registry/v2/blobs"):
        if "data" in names:
            found.add("sha256:" + os.path.basename(directory))
    return found


def distribution_gc(root: Path, delete_untagged: bool) -> None:
    binary = require_binary("docker-registry", "docker-registry")
    config = root.parent / f"{root.name}-gc.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root}\n")
    command = [binary, "garbage-collect", *(["--delete-untagged"] if delete_untagged else []), str(config)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@pytest.mark.parametrize("delete_untagged", [False, True])
async def test_same_blobs_removed_as_distributions_garbage_collect(tmp_path, delete_untagged):
    written = tmp_path / "written"
    with distribution_registry(written) as url:
        images = await asyncio.to_thread(push_history, url)
    theirs, ours = tmp_path / "theirs", tmp_path / "ours"
    shutil.copytree(written, theirs)
    shutil.copytree(written, ours)
    await asyncio.to_thread(distribution_gc, theirs, delete_untagged)
    await asyncio.sleep(0.02)
    driver = FilesystemDriver(ours)
    report = await collect(driver, delete_untagged=delete_untagged, timing=EAGER)
    assert stored_blobs(ours) == stored_blobs(theirs)
    assert {item.name for item in report.removed if item.kind == "blob"} == stored_blobs(written) - stored_blobs(ours)
    assert (sha256(images["first"].manifest) in stored_blobs(ours)) is not delete_untagged
    await assert_consistent(driver)
    storage = Storage("filesystem", lambda: FilesystemDriver(ours), 0.0, root=ours)
    async with registry_client(storage) as client:
        for repo, tag in (("dist/app", "v1"), ("dist/app", "v2"), ("dist/other", "latest")):
            await pull(client, repo, tag)
    with distribution_registry(ours) as url:  # and Distribution serves what pyreg left
        manifest, blobs = await asyncio.to_thread(pull_image, url, "dist/app", "v1")
    assert manifest == images["moved"].manifest and blobs == images["moved"].blobs
