"""Filesystem-only promises: a writer killed before commit leaves nothing
visible, old content survives a crashed overwrite, and no key can reach
outside the root, even through a symlink planted inside it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from storage_backends.base import InvalidKey, PathNotFound, StorageError
from storage_backends.filesystem import TEMP_PREFIX, FilesystemDriver

REPO_ROOT = Path(__file__).resolve().parents[2]
WRITE_THEN_HANG = """
import asyncio, sys
from storage_backends.filesystem import FilesystemDriver

async def main():
    writer = await FilesystemDriver(sys.argv[1]).writer(sys.argv[2])
    await writer.write(b"x" * (3 << 20))
    print("written", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def kill_writer_midway(root: Path, key: str) -> None:
    """Run a writer in another process and SIGKILL it after its writes, before commit."""
    process = subprocess.Popen([sys.executable, "-c", WRITE_THEN_HANG, str(root), key],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "written"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


async def test_killed_writer_leaves_no_visible_key(tmp_path):
    kill_writer_midway(tmp_path, "crash/data")
    driver = FilesystemDriver(tmp_path)
    assert not await driver.exists("crash/data")
    with pytest.raises(PathNotFound):
        await driver.list("crash")  # only the orphaned temp file is there, and it is hidden
    leftovers = os.listdir(tmp_path / "crash")
    assert len(leftovers) == 1 and leftovers[0].startswith(TEMP_PREFIX)


async def test_killed_overwrite_keeps_the_old_content(tmp_path):
    driver = FilesystemDriver(tmp_path)
    await driver.put_content("tags/v1/link", b"sha256:old")
    kill_writer_midway(tmp_path, "tags/v1/link")
    assert await driver.get_content("tags/v1/link") == b"sha256:old"
    assert await driver.list("tags/v1") == ["tags/v1/link"]


async def test_symlink_out_of_the_root_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"host file")
    root = tmp_path / "root"
    driver = FilesystemDriver(root)
    os.symlink(outside, root / "escape")
    with pytest.raises(InvalidKey):
        await driver.get_content("escape/secret")
    with pytest.raises(InvalidKey):
        await driver.put_content("escape/planted", b"x")
    with pytest.raises(InvalidKey):
        await driver.delete("escape/secret")
    os.symlink(outside / "secret", root / "linked-file")  # the last component itself
    with pytest.raises(InvalidKey):
        await driver.get_content("linked-file")
    with pytest.raises(InvalidKey):
        driver.local_path("linked-file")
    assert sorted(os.listdir(outside)) == ["secret"]


async def test_local_path_is_the_file_under_the_root(tmp_path):
    driver = FilesystemDriver(tmp_path)
    await driver.put_content("blobs/ab/data", b"bytes for sendfile")
    path = driver.local_path("blobs/ab/data")
    assert path == str(tmp_path.resolve() / "blobs" / "ab" / "data")
    assert Path(path).read_bytes() == b"bytes for sendfile"


async def test_deleting_the_last_key_removes_empty_parents_but_not_the_root(tmp_path):
    driver = FilesystemDriver(tmp_path / "root")
    await driver.put_content("a/b/c/d", b"v")
    await driver.delete("a/b/c/d")
    assert os.listdir(tmp_path / "root") == []
    assert await driver.list("") == []


async def test_appending_in_place_then_cancelling_truncates_back(tmp_path):
    driver = FilesystemDriver(tmp_path)
    await driver.put_content("up/data", b"0123456789")
    writer = await driver.writer("up/data", append=True)
    await writer.write(b"A" * (3 << 20))  # past the buffer, so it reaches the file
    assert writer.size == 10 + (3 << 20)
    await writer.cancel()
    assert (tmp_path / "up" / "data").read_bytes() == b"0123456789"


async def test_file_and_directory_clashes_are_storage_errors(tmp_path):
    driver = FilesystemDriver(tmp_path)
    await driver.put_content("a/b", b"v")
    with pytest.raises(StorageError, match="cannot write"):
        await driver.put_content("a", b"a directory is in the way")
    with pytest.raises(StorageError, match="cannot write"):
        await driver.put_content("a/b/c", b"a file is in the way")
    assert await driver.get_content("a/b") == b"v"
    assert await driver.list("a") == ["a/b"]
