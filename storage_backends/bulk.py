"""Whole-tree operations for maintenance jobs (garbage collection, usage):
every file under a prefix with its size and modification time, and deleting
many keys at once.

The driver interface lists one directory at a time and stats one key at a
time. A garbage collection over 10,000 blobs in S3 would then cost tens of
thousands of requests; one ListObjectsV2 without a delimiter returns a
thousand keys with their sizes and LastModified, and one DeleteObjects
removes a thousand. On a local disk a scandir walk in one thread does the
same without a thread hop per directory. Other backends (memory) take the
generic path through the interface.

These are optional capabilities in the sense of `base.py`; they belong on
the drivers themselves (`walk_files`, `delete_many`) once the interface is
opened to them, and live here meanwhile.
"""
from __future__ import annotations

import asyncio
import os
from typing import Iterable

from .base import FileInfo, InvalidKey, PathNotFound, StorageDriver, StorageError, check_key

DELETE_BATCH = 1000  # S3's limit for one DeleteObjects


async def walk_files(driver: StorageDriver, prefix: str) -> list[FileInfo]:
    """Every file below the directory `prefix` (not the directories
    themselves), sorted by key; [] when there is none."""
    check_key(prefix)
    if driver.name == "s3":
        files = await _walk_s3(driver, prefix)
    elif driver.name == "filesystem":
        files = await asyncio.to_thread(_walk_filesystem, driver, prefix)
    else:
        files = await _walk_generic(driver, prefix)
    return sorted(files, key=lambda info: info.key)


async def delete_many(driver: StorageDriver, keys: Iterable[str]) -> None:
    """Delete files (not directories); keys already gone are not an error."""
    keys = [check_key(key) for key in keys]
    if driver.name == "s3":
        await _delete_s3(driver, keys)
        return
    for key in keys:
        try:
            await driver.delete(key)
        except PathNotFound:
            pass


def _walk_filesystem(driver: StorageDriver, prefix: str) -> list[FileInfo]:
    from .filesystem import TEMP_PREFIX
    files: list[FileInfo] = []
    pending = [(driver.local_path(prefix), prefix)]
    while pending:
        directory, key_prefix = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.name.startswith(TEMP_PREFIX):
                continue  # an uncommitted write, never a key
            key = f"{key_prefix}/{entry.name}"
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, key))
                elif entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    files.append(FileInfo(key, info.st_size, False, info.st_mtime))
            except FileNotFoundError:
                continue  # deleted while we looked
    return files


async def _walk_s3(driver, prefix: str) -> list[FileInfo]:
    listed = driver.object_key(prefix) + "/"
    files = []
    token = None
    while True:
        extra = {"ContinuationToken": token} if token else {}
        page = await driver.call("list_objects_v2", prefix, Prefix=listed, MaxKeys=1000, **extra)
        for entry in page.get("Contents", []):
            key = f"{prefix}/{entry['Key'][len(listed):]}"
            try:
                check_key(key)
            except InvalidKey:
                continue  # a 'directory marker' or a '//' in a foreign bucket
            files.append(FileInfo(key, entry["Size"], False, entry["LastModified"].timestamp()))
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return files


async def _delete_s3(driver, keys: list[str]) -> None:
    for first in range(0, len(keys), DELETE_BATCH):
        batch = [{"Key": driver.object_key(key)} for key in keys[first:first + DELETE_BATCH]]
        response = await driver.call("delete_objects", keys[first],
                                     Delete={"Objects": batch, "Quiet": True})
        if response.get("Errors"):
            error = response["Errors"][0]
            raise StorageError(f"s3 delete {error.get('Key')}: {error.get('Code')}: {error.get('Message')}")


async def _walk_generic(driver: StorageDriver, prefix: str) -> list[FileInfo]:
    files: list[FileInfo] = []
    pending = [prefix]
    while pending:
        directory = pending.pop()
        try:
            children = await driver.list(directory)
        except PathNotFound:
            continue
        for child in children:
            try:
                info = await driver.stat(child)
            except PathNotFound:
                continue
            if info.is_dir:
                pending.append(child)
            else:
                files.append(info)
    return files
