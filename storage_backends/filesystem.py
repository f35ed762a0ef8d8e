"""Keys as files under one root directory, in exactly the layout the registry
chooses, so a registry:2 root directory is served as it is, and back again.

Writes are atomic and durable. New content goes to a hidden temp file beside
its key (same directory, so same filesystem), is fsynced and renamed over the
key, and the directory entries are fsynced too (the rename's, and those of the
directories made for the key): a reader sees the old content or the new one,
never a mix, what commit() acknowledged survives a power cut, and a writer
that never commits leaves no visible key. Appending to an existing key continues
its file in place, because copying a multi-gigabyte upload for every chunk
would be quadratic; the writer remembers the size it started from and
truncates back to it on cancel.

Threads: metadata calls and small reads on a local disk take microseconds,
less than a thread hand-off (about 140 us measured here), so they run inline.
Whatever can take long (fsync, big reads and writes, tree walks) runs in a
thread, in chunks of about 1 MiB.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from stat import S_ISDIR
from typing import AsyncIterator

from .base import (BlobWriter, FileInfo, InvalidKey, PathNotFound, StorageDriver, StorageError,
                   check_key, check_prefix)
from .staged_writer import (StagedFileWriter, fsync_directory, fsync_parents, make_directories,
                            storage_error)

TEMP_PREFIX = ".pyreg-tmp-"  # hidden from list(); never a registry key
CHUNK_SIZE = 1 << 20
INLINE_READ_LIMIT = 256 << 10  # get_content reads files up to this size without a thread
CHECKED_DIRS_LIMIT = 100_000  # directories known to resolve inside the root; then start over
_MISSING = (FileNotFoundError, NotADirectoryError)


def _open_new_temp(final_path: str) -> tuple[str, int, list[str]]:
    """Create the key's directory and a fresh temp file in it; returns the
    temp's path and descriptor, and the directories made for it.

    Retries because a concurrent delete may prune the just-created empty
    directory before the temp file lands in it."""
    directory, name = os.path.split(final_path)
    made: list[str] = []
    for _ in range(5):
        made += make_directories(directory)
        temp_path = os.path.join(directory, f"{TEMP_PREFIX}{uuid.uuid4().hex}-{name}")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            return temp_path, os.open(temp_path, flags, 0o666), made
        except FileNotFoundError:
            continue
    raise StorageError(f"could not create a temp file in {directory}")


class FilesystemDriver(StorageDriver):
    name = "filesystem"
    appends_in_place = True

    def __init__(self, root: str | os.PathLike):
        self._root = os.path.realpath(os.fspath(root))
        self._inside_root = os.path.join(self._root, "")  # what every resolved key path starts with
        self._checked_dirs: set[str] = set()
        os.makedirs(self._root, exist_ok=True)

    def _path(self, key: str) -> str:
        """The path of a checked key; refuses one that resolves outside the root
        through a symlink planted inside it.

        A full realpath costs ~50 us (an lstat per component), more than the
        read itself, so directories are checked once and remembered, and only
        the last component is looked at every time. Swapping a checked
        directory for a symlink later takes write access to the store, which
        could change its data anyway."""
        path = os.path.join(self._root, check_key(key))
        directory = os.path.dirname(path)
        if directory not in self._checked_dirs:
            self._refuse_outside(key, directory)
            if len(self._checked_dirs) >= CHECKED_DIRS_LIMIT:
                self._checked_dirs.clear()
            self._checked_dirs.add(directory)
        if os.path.islink(path):
            self._refuse_outside(key, path)
        return path

    def _refuse_outside(self, key: str, path: str) -> None:
        if not (os.path.realpath(path) + os.sep).startswith(self._inside_root):
            raise InvalidKey(f"storage key {key!r} resolves outside the storage root")

    def _dir_path(self, prefix: str) -> str:
        return self._root if check_prefix(prefix) == "" else self._path(prefix)

    def _prune_empty_parents(self, path: str) -> None:
        """Remove directories left empty, so a directory exists only while keys are below it."""
        directory = os.path.dirname(path)
        while directory != self._root and directory.startswith(self._inside_root):
            try:
                os.rmdir(directory)
            except OSError:
                return  # not empty (or already gone): stop climbing
            directory = os.path.dirname(directory)

    def local_path(self, key: str) -> str | None:
        return self._path(key)

    def _open_existing(self, key: str):
        try:
            return open(self._path(key), "rb")
        except (*_MISSING, IsADirectoryError):
            raise PathNotFound(key) from None

    async def get_content(self, key: str) -> bytes:
        with self._open_existing(key) as file:
            if os.fstat(file.fileno()).st_size <= INLINE_READ_LIMIT:
                return file.read()
            return await asyncio.to_thread(file.read)

    async def put_content(self, key: str, data: bytes) -> None:
        writer = await self.writer(key)
        await writer.write(data)
        await writer.commit()

    async def create_exclusive(self, key: str, data: bytes) -> bool:
        """A temp file written whole, then hard-linked to the key: link(2)
        fails when the name exists, atomically (on NFS too, unlike O_EXCL
        on old servers), and the key never shows a partial content."""
        path = self._path(key)
        try:
            return await asyncio.to_thread(self._create_exclusive_sync, path, data)
        except OSError as error:
            raise storage_error(error, key) from None

    def _create_exclusive_sync(self, path: str, data: bytes) -> bool:
        temp_path, fd, made = _open_new_temp(path)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.link(temp_path, path)
        except FileExistsError:
            return False
        finally:
            os.unlink(temp_path)
        fsync_directory(os.path.dirname(path))
        fsync_parents(made)
        return True

    async def read_stream(self, key: str, offset: int = 0, length: int | None = None,
                          chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        with self._open_existing(key) as file:
            file.seek(offset)
            remaining = length
            while remaining is None or remaining > 0:
                wanted = chunk_size if remaining is None else min(chunk_size, remaining)
                chunk = await asyncio.to_thread(file.read, wanted)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    async def writer(self, key: str, append: bool = False) -> BlobWriter:
        path = self._path(key)
        if append:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                pass  # nothing to continue: write a new key atomically
            except (NotADirectoryError, IsADirectoryError) as error:
                raise StorageError(f"cannot append to {key!r}: {error.strerror}") from None
            else:
                start_size = os.lseek(fd, 0, os.SEEK_END)
                return StagedFileWriter(fd, path, None, start_size)
        try:
            temp_path, fd, made = await asyncio.to_thread(_open_new_temp, path)
        except OSError as error:  # e.g. a parent of the key is a file, or no space for a directory
            self._prune_empty_parents(path)
            raise storage_error(error, key) from None
        return StagedFileWriter(fd, path, temp_path, 0, made, self._prune_empty_parents)

    async def stat(self, key: str) -> FileInfo:
        try:
            info = os.stat(self._dir_path(key))
        except _MISSING:
            raise PathNotFound(key) from None
        is_dir = S_ISDIR(info.st_mode)
        return FileInfo(key, 0 if is_dir else info.st_size, is_dir, info.st_mtime)

    async def list(self, prefix: str) -> list[str]:
        directory = self._dir_path(prefix)
        try:
            names = await asyncio.to_thread(os.listdir, directory)
        except _MISSING:
            raise PathNotFound(prefix) from None
        start = prefix + "/" if prefix else ""
        children = sorted(start + name for name in names if not name.startswith(TEMP_PREFIX))
        if not children and prefix:
            raise PathNotFound(prefix)  # a directory exists only while keys are below it
        return children

    async def move(self, source: str, dest: str) -> None:
        source_path, dest_path = self._path(source), self._path(dest)
        try:
            await asyncio.to_thread(self._move_sync, source, source_path, dest_path)
        except OSError as error:  # no space for a directory on the way
            self._prune_empty_parents(dest_path)
            raise storage_error(error, dest) from None

    def _move_sync(self, source: str, source_path: str, dest_path: str) -> None:
        if not os.path.isfile(source_path):
            raise PathNotFound(source)
        made: list[str] = []
        for _ in range(5):  # a concurrent prune may remove the fresh directory
            made += make_directories(os.path.dirname(dest_path))
            try:
                os.replace(source_path, dest_path)
                break
            except FileNotFoundError:
                if not os.path.exists(source_path):
                    raise PathNotFound(source) from None
        fsync_directory(os.path.dirname(dest_path))
        fsync_parents(made)
        self._prune_empty_parents(source_path)

    async def remove_abandoned_writes(self, before: float, dry_run: bool = False) -> list[str]:
        """Temporary files of writes that never committed: a kill between
        creating one and renaming it over its key leaves it. A live writer
        touches its file with every write, so only idle ones are old."""
        return await asyncio.to_thread(self._remove_temporaries_sync, before, dry_run)

    def _remove_temporaries_sync(self, before: float, dry_run: bool) -> list[str]:
        removed = []
        for directory, _dirs, files in os.walk(self._root):
            for name in files:
                if not name.startswith(TEMP_PREFIX):
                    continue
                path = os.path.join(directory, name)
                try:
                    if os.lstat(path).st_mtime >= before:
                        continue
                    if not dry_run:
                        os.unlink(path)
                        self._prune_empty_parents(path)
                except FileNotFoundError:
                    continue  # its writer finished or gave up meanwhile
                removed.append(os.path.relpath(path, self._root))
        return removed

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(self._delete_sync, key, path)

    def _delete_sync(self, key: str, path: str) -> None:
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except _MISSING:
            raise PathNotFound(key) from None
        self._prune_empty_parents(path)
