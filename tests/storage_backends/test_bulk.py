"""Whole-tree walks, batch reads and batch deletes, on every backend."""
from __future__ import annotations

import os

import pytest

from storage_backends.base import InvalidKey, PathNotFound
from storage_backends.bulk import delete_many, read_many, walk_files
from storage_backends.filesystem import TEMP_PREFIX, FilesystemDriver
from storage_backends.memory import MemoryDriver

KEYS = {"top/a/one": b"1", "top/a/b/two": b"22", "top/c/three": b"333", "elsewhere/x": b"x"}


@pytest.fixture(params=["memory", "filesystem", "s3"])
async def driver(request, tmp_path):
    if request.param == "memory":
        driver = MemoryDriver()
    elif request.param == "filesystem":
        driver = FilesystemDriver(tmp_path / "root")
    else:
        from storage_backends.s3 import S3Driver
        moto_s3, bucket = request.getfixturevalue("moto_s3"), request.getfixturevalue("s3_bucket")
        driver = S3Driver(bucket, moto_s3.region, moto_s3.url, moto_s3.access_key, moto_s3.secret_key,
                          root_directory="/bulk")
    for key, data in KEYS.items():
        await driver.put_content(key, data)
    yield driver
    await driver.close()


async def test_walk_lists_every_file_below_a_prefix_with_size_and_time(driver):
    found = await walk_files(driver, "top")
    assert [(info.key, info.size, info.is_dir) for info in found] == [
        ("top/a/b/two", 2, False), ("top/a/one", 1, False), ("top/c/three", 3, False)]
    assert all(info.modified > 0 for info in found)
    assert await walk_files(driver, "missing") == []


async def test_read_many_answers_none_for_absent_keys(driver):
    assert await read_many(driver, ["top/a/one", "top/c/three", "top/nothing"]) == {
        "top/a/one": b"1", "top/c/three": b"333", "top/nothing": None}


async def test_delete_many_removes_files_and_tolerates_missing_ones(driver):
    await delete_many(driver, ["top/a/b/two", "top/a/one", "top/never"])
    assert [info.key for info in await walk_files(driver, "top")] == ["top/c/three"]
    with pytest.raises(PathNotFound):
        await driver.list("top/a")  # emptied directories are gone, as after driver.delete
    assert await driver.get_content("elsewhere/x") == b"x"


async def test_s3_deletes_more_than_one_batch(moto_s3, s3_bucket):
    from storage_backends.s3 import S3Driver
    driver = S3Driver(s3_bucket, moto_s3.region, moto_s3.url, moto_s3.access_key, moto_s3.secret_key)
    client = moto_s3.client()
    for number in range(1100):
        client.put_object(Bucket=s3_bucket, Key=f"many/{number:05d}", Body=b"")
    assert len(await walk_files(driver, "many")) == 1100  # more than one listing page
    await delete_many(driver, [f"many/{number:05d}" for number in range(1100)])
    assert await walk_files(driver, "many") == []
    await driver.close()


async def test_filesystem_walk_skips_temporary_files_and_links(tmp_path):
    driver = FilesystemDriver(tmp_path / "root")
    await driver.put_content("top/kept", b"k")
    (tmp_path / "root/top" / f"{TEMP_PREFIX}123-kept").write_bytes(b"uncommitted")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/secret").write_bytes(b"s")
    os.symlink(tmp_path / "outside", tmp_path / "root/top/linked")
    assert [info.key for info in await walk_files(driver, "top")] == ["top/kept"]


async def test_filesystem_batches_refuse_a_directory_linked_outside_the_root(tmp_path):
    driver = FilesystemDriver(tmp_path / "root")
    await driver.put_content("top/kept", b"k")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/secret").write_bytes(b"s")
    os.symlink(tmp_path / "outside", tmp_path / "root/top/linked")
    with pytest.raises(InvalidKey):
        await read_many(driver, ["top/linked/secret"])
    with pytest.raises(InvalidKey):
        await delete_many(driver, ["top/linked/secret"])
    assert (tmp_path / "outside/secret").read_bytes() == b"s"
