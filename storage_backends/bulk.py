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

On a local disk the cost is elsewhere: a thread hop per key and a full
realpath per new directory (about 100 us each, measured here) took 3 of
the 5 seconds a collection of 10,000 blobs needed. So a batch runs in a
few threads, each taking a share of the keys (deleting 2,450 blobs took
2.1 s in one thread and 0.43 s in four: the disk answers metadata calls
in parallel), and a path is trusted once each directory on it was seen,
with one lstat, to be a real directory (not a link) inside a trusted one.

These are optional capabilities in the sense of `base.py`; they belong on
the drivers themselves (`walk_files`, `read_many`, `delete_many`) once the
interface is opened to them, and live here meanwhile.
"""
from __future__ import annotations

import asyncio
import errno
import os
import stat
from typing import Iterable

from .base import FileInfo, InvalidKey, PathNotFound, StorageDriver, StorageError, check_key
from .filesystem import TEMP_PREFIX

DELETE_BATCH = 1000  # S3's limit for one DeleteObjects


THREADS = 4


async def _in_threads(function, items: list) -> list:
    """`function` over shares of `items`, one share per thread; results joined."""
    shares = [items[start::THREADS] for start in range(min(THREADS, len(items)))]
    results = await asyncio.gather(*(asyncio.to_thread(function, share) for share in shares))
    return [item for result in results for item in result]


async def walk_files(driver: StorageDriver, prefix: str) -> list[FileInfo]:
    """Every file below the directory `prefix` (not the directories
    themselves), sorted by key; [] when there is none."""
    check_key(prefix)
    if driver.name == "s3":
        files = await _walk_s3(driver, prefix)
    elif driver.name == "filesystem":
        files = await _walk_filesystem(driver, prefix)
    else:
        files = await _walk_generic(driver, prefix)
    return sorted(files, key=lambda info: info.key)


async def read_many(driver: StorageDriver, keys: Iterable[str]) -> dict[str, bytes | None]:
    """The content of each (small) key; None for a key that is absent."""
    keys = [check_key(key) for key in keys]
    if driver.name == "filesystem":
        return dict(await _in_threads(_LocalTree(driver).read_all, keys))
    contents = await _bounded(_read_or_none(driver, key) for key in keys)
    return dict(zip(keys, contents))


async def delete_many(driver: StorageDriver, keys: Iterable[str], ordered: bool = True) -> None:
    """Delete files (not directories); keys already gone are not an error.
    `ordered`: in the order given (a crash stops at a point of it), else
    in parallel where the backend gains by it."""
    keys = [check_key(key) for key in keys]
    if not keys:
        return
    if driver.name == "s3":
        await _delete_s3(driver, keys)
    elif driver.name == "filesystem":
        tree = _LocalTree(driver)
        await (asyncio.to_thread(tree.delete_all, keys) if ordered else _in_threads(tree.delete_all, keys))
    else:
        for key in keys:
            try:
                await driver.delete(key)
            except PathNotFound:
                pass


async def _read_or_none(driver: StorageDriver, key: str) -> bytes | None:
    try:
        return await driver.get_content(key)
    except PathNotFound:
        return None


async def _bounded(calls, limit: int = 16) -> list:
    gate = asyncio.Semaphore(limit)

    async def one(call):
        async with gate:
            return await call
    return await asyncio.gather(*(one(call) for call in calls))


class _LocalTree:
    """Paths of keys under a filesystem driver's root, checked cheaply."""

    def __init__(self, driver: StorageDriver):
        anchor = "docker"
        self.root = driver.local_path(anchor)[:-len(anchor) - 1]  # checked by the driver itself
        self._trusted = {self.root}

    def path(self, key: str) -> str:
        path = os.path.join(self.root, key)
        self._trust(os.path.dirname(path))
        return path

    def _trust(self, directory: str) -> None:
        if directory in self._trusted:
            return
        if len(directory) <= len(self.root):
            raise InvalidKey(f"{directory!r} is outside the storage root")
        self._trust(os.path.dirname(directory))
        try:
            info = os.lstat(directory)
        except FileNotFoundError:
            return  # nothing there to read or delete
        if not stat.S_ISDIR(info.st_mode):
            raise InvalidKey(f"{directory!r} is not a directory inside the storage root")
        self._trusted.add(directory)

    def read_all(self, keys: list[str]) -> list[tuple[str, bytes | None]]:
        found: dict[str, bytes | None] = {}
        for key in keys:
            try:
                fd = os.open(self.path(key), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except (FileNotFoundError, NotADirectoryError):
                found[key] = None
                continue
            except OSError as error:
                if error.errno != errno.ELOOP:
                    raise StorageError(f"cannot read {key!r}: {error.strerror}") from None
                found[key] = None  # a symbolic link is never a key
                continue
            with os.fdopen(fd, "rb") as file:
                try:
                    found[key] = file.read()
                except IsADirectoryError:
                    found[key] = None
        return list(found.items())

    def delete_all(self, keys: list[str]) -> list:
        for key in keys:
            path = self.path(key)
            try:
                os.unlink(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            self._prune(os.path.dirname(path))
        return []

    def _prune(self, directory: str) -> None:
        """Remove directories left empty, as the driver does after a delete."""
        while len(directory) > len(self.root):
            try:
                os.rmdir(directory)
            except OSError:
                return  # not empty (or gone)
            self._trusted.discard(directory)
            directory = os.path.dirname(directory)


async def _walk_filesystem(driver: StorageDriver, prefix: str) -> list[FileInfo]:
    """Breadth first until there are subtrees enough for the threads, then in them."""
    pending, files = [(driver.local_path(prefix), prefix)], []
    while pending and len(pending) < 8 * THREADS:
        directories = []
        for directory, key_prefix in pending:
            found, below = _scan(directory, key_prefix)
            files += found
            directories += below
        if not directories:
            return files
        pending = directories
    return files + await _in_threads(_walk_subtrees, pending)


def _walk_subtrees(pending: list[tuple[str, str]]) -> list[FileInfo]:
    files: list[FileInfo] = []
    while pending:
        found, below = _scan(*pending.pop())
        files += found
        pending += below
    return files


def _scan(directory: str, key_prefix: str) -> tuple[list[FileInfo], list[tuple[str, str]]]:
    """The files of one directory, and its subdirectories (links are never followed)."""
    files, below = [], []
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return files, below
    for entry in entries:
        if entry.name.startswith(TEMP_PREFIX):
            continue  # an uncommitted write, never a key
        key = f"{key_prefix}/{entry.name}"
        try:
            if entry.is_dir(follow_symlinks=False):
                below.append((entry.path, key))
            elif entry.is_file(follow_symlinks=False):
                info = entry.stat(follow_symlinks=False)
                files.append(FileInfo(key, info.st_size, False, info.st_mtime))
        except FileNotFoundError:
            continue  # deleted while we looked
    return files, below


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
