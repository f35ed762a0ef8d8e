"""What only the S3 backend promises: Distribution's object names, appends that
never download a big object, multipart copies, paging, presigned redirects."""
from __future__ import annotations

import collections
import hashlib
import os
import time
import urllib.request

import pytest

from storage_backends.base import PathNotFound, StorageError
from storage_backends.s3 import S3Driver
from storage_backends.s3_writer import copy_ranges
from tests.storage_backends.conformance import MiB, collect, write_in_chunks


def make_driver(moto_s3, bucket: str, **options) -> S3Driver:
    return S3Driver(bucket, moto_s3.region, moto_s3.url, moto_s3.access_key, moto_s3.secret_key, **options)


def count_calls(driver: S3Driver) -> collections.Counter:
    """Count S3 operations as botocore sends them."""
    calls: collections.Counter = collections.Counter()
    driver._client.meta.events.register(
        "before-call.s3.*", lambda model, **_: calls.update([model.name]))
    return calls


def bucket_objects(moto_s3, bucket: str) -> list[str]:
    response = moto_s3.client().list_objects_v2(Bucket=bucket)
    return sorted(entry["Key"] for entry in response.get("Contents", []))


@pytest.mark.parametrize("root, expected", [
    ("/registry/root/", "registry/root/docker/registry/v2/x/data"),
    ("/", "docker/registry/v2/x/data"),
    ("", "docker/registry/v2/x/data"),
])
async def test_objects_are_named_like_distributions_s3_driver(moto_s3, s3_bucket, root, expected):
    driver = make_driver(moto_s3, s3_bucket, root_directory=root)
    await driver.put_content("docker/registry/v2/x/data", b"v")
    assert bucket_objects(moto_s3, s3_bucket) == [expected]
    assert await driver.list("") == ["docker"]


async def test_append_to_a_big_object_copies_server_side(moto_s3, s3_bucket):
    driver = make_driver(moto_s3, s3_bucket, part_size=5 * MiB)
    first = os.urandom(7 * MiB)
    await driver.put_content("up/data", first)
    calls = count_calls(driver)
    assert await write_in_chunks(driver, "up/data", [b"x"] * 5, append=True) == len(first) + 5
    assert calls["GetObject"] == 0
    assert calls["UploadPartCopy"] == 1 and calls["CompleteMultipartUpload"] == 1
    assert await driver.get_content("up/data") == first + b"xxxxx"


async def test_append_to_a_small_object_reads_it_back(moto_s3, s3_bucket):
    driver = make_driver(moto_s3, s3_bucket)
    await driver.put_content("up/data", b"small")
    calls = count_calls(driver)
    await write_in_chunks(driver, "up/data", [b" and more"], append=True)
    assert calls["GetObject"] == 1 and calls["UploadPartCopy"] == 0
    assert calls["PutObject"] == 1  # still below one part: a single PutObject
    assert await driver.get_content("up/data") == b"small and more"


async def test_one_huge_write_is_cut_into_parts(moto_s3, s3_bucket):
    driver = make_driver(moto_s3, s3_bucket, part_size=5 * MiB)
    data = os.urandom(12 * MiB + 1)
    calls = count_calls(driver)
    assert await write_in_chunks(driver, "big/data", [data]) == len(data)
    assert calls["UploadPart"] == 3  # 5 MiB + 5 MiB + the 2 MiB tail
    assert hashlib.sha256(await driver.get_content("big/data")).digest() == hashlib.sha256(data).digest()


async def test_cancel_aborts_the_multipart_upload(moto_s3, s3_bucket):
    driver = make_driver(moto_s3, s3_bucket, part_size=5 * MiB)
    writer = await driver.writer("gone/data")
    await writer.write(os.urandom(6 * MiB))
    await writer.cancel()
    assert not await driver.exists("gone/data")
    uploads = moto_s3.client().list_multipart_uploads(Bucket=s3_bucket)
    assert uploads.get("Uploads", []) == []


async def test_a_purge_pass_never_aborts_a_writer_in_flight(moto_s3, s3_bucket):
    """moto reports every upload as initiated in 2010: a purge judging by that
    alone aborted live writes of other replicas (a PATCH got 503)."""
    driver = make_driver(moto_s3, s3_bucket, part_size=5 * MiB)
    writer = await driver.writer("live/data")
    await writer.write(os.urandom(6 * MiB))  # one part sent: the upload exists
    assert await driver.remove_abandoned_writes(time.time() - 60) == []
    await writer.write(b"tail")
    await writer.commit()
    assert await driver.stat("live/data") and (await driver.stat("live/data")).size == 6 * MiB + 4


async def test_an_abandoned_upload_is_aborted_once_its_parts_are_old(moto_s3, s3_bucket):
    driver = make_driver(moto_s3, s3_bucket, part_size=5 * MiB)
    writer = await driver.writer("dead/data")
    await writer.write(os.urandom(6 * MiB))
    assert await driver.remove_abandoned_writes(time.time() + 1, dry_run=True) == ["dead/data"]
    assert await driver.remove_abandoned_writes(time.time() + 1) == ["dead/data"]
    assert moto_s3.client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    # its writer, carrying on, fails with a StorageError of its own, not the abort's
    with pytest.raises(StorageError, match="upload_part|complete_multipart_upload"):
        await writer.commit()


async def test_move_beyond_the_copy_limit_uses_multipart_copy(moto_s3, s3_bucket):
    driver = make_driver(moto_s3, s3_bucket, copy_part_limit=10 * MiB)
    data = os.urandom(12 * MiB)
    await driver.put_content("uploads/1/data", data)
    calls = count_calls(driver)
    await driver.move("uploads/1/data", "blobs/ab/data")
    assert calls["UploadPartCopy"] == 2 and calls["CopyObject"] == 0
    assert await driver.get_content("blobs/ab/data") == data
    assert not await driver.exists("uploads/1/data")


def test_copy_ranges_cover_everything_in_equal_parts():
    assert copy_ranges(10, 10) == [(0, 9)]
    assert copy_ranges(12, 10) == [(0, 5), (6, 11)]
    ranges = copy_ranges(5 * 1024 * MiB * 3 + 7, 5 * 1024 * MiB)
    assert ranges[0][0] == 0 and ranges[-1][1] == 5 * 1024 * MiB * 3 + 6
    assert all(b + 1 == c for (_, b), (c, _) in zip(ranges, ranges[1:]))
    assert len(ranges) == 4 and all(last - first + 1 <= 5 * 1024 * MiB for first, last in ranges)


async def test_list_and_delete_follow_pagination(moto_s3, s3_bucket):
    driver = make_driver(moto_s3, s3_bucket, root_directory="/r")
    driver.list_page_size = 2
    keys = [f"repos/{name}/link" for name in "edcba"] + ["repos/a/extra/x", "repos/a/extra/y"]
    for key in keys:
        await driver.put_content(key, b"v")
    assert await driver.list("repos") == [f"repos/{name}" for name in "abcde"]
    await driver.delete("repos")
    assert bucket_objects(moto_s3, s3_bucket) == []


async def test_redirect_url_is_a_working_presigned_get(moto_s3, s3_bucket):
    driver = make_driver(moto_s3, s3_bucket, redirect=True, root_directory="/reg")
    await driver.put_content("blobs/data", b"served by S3 itself")
    url = await driver.redirect_url("blobs/data")
    assert url.startswith(moto_s3.url) and "X-Amz-Signature" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"served by S3 itself"
    assert await make_driver(moto_s3, s3_bucket).redirect_url("blobs/data") is None


async def test_missing_bucket_is_a_storage_error_not_path_not_found(moto_s3):
    driver = make_driver(moto_s3, "no-such-bucket-here")
    with pytest.raises(StorageError) as caught:
        await driver.put_content("k", b"v")
    assert not isinstance(caught.value, PathNotFound) and "NoSuchBucket" in str(caught.value)


async def test_read_stream_of_missing_key_raises_on_first_use(moto_s3, s3_bucket):
    driver = make_driver(moto_s3, s3_bucket)
    stream = driver.read_stream("missing")  # creating the stream does no IO
    with pytest.raises(PathNotFound):
        await collect(stream)


def test_part_size_below_the_s3_minimum_is_refused():
    with pytest.raises(ValueError, match="at least"):
        S3Driver("bucket", part_size=1 * MiB)
