"""Writing tar entries beneath a directory without ever leaving it.

Every path is split into components and walked from an open directory fd,
one `openat(O_NOFOLLOW)` at a time, so a symlink planted by an earlier entry
(or an earlier layer) can never redirect a later write to the host. Entries
with absolute paths are taken relative to the root (as tar does); `..`
anywhere and walking through a symlink are refused outright.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Iterator

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeEntry(Exception):
    """A layer entry that would escape the directory it is extracted into."""


def split_member_path(name: str) -> list[str]:
    """`./usr//bin/../x` -> refused; `/usr/bin/sh` -> ['usr', 'bin', 'sh']."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafeEntry(f"layer entry {name!r} contains '..'")
    if any("\0" in p for p in parts):
        raise UnsafeEntry(f"layer entry {name!r} contains a NUL byte")
    return parts


class Beneath:
    """An open directory under which all operations stay."""

    def __init__(self, root: str | os.PathLike):
        self.root = os.fspath(root)
        self.fd = os.open(self.root, _DIR_FLAGS)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "Beneath":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def parent_of(self, parts: list[str], create: bool = True) -> Iterator[int]:
        """Yield an fd of the directory holding parts[-1], creating missing
        directories on the way when `create`; refuse symlinks on the way."""
        fd = os.dup(self.fd)
        try:
            for index, part in enumerate(parts[:-1]):
                fd = self._step(fd, part, parts[:index + 1], create)
            yield fd
        finally:
            os.close(fd)

    def _step(self, fd: int, part: str, so_far: list[str], create: bool) -> int:
        try:
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
        except FileNotFoundError:
            if not create:
                raise
            os.mkdir(part, 0o755, dir_fd=fd)
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
        except OSError as err:
            if err.errno in (errno.ELOOP, errno.ENOTDIR):
                kind = "a symlink" if self._is_symlink(fd, part) else "not a directory"
                raise UnsafeEntry(f"path {'/'.join(so_far)!r} is {kind}; refusing to walk through it") from None
            raise
        os.close(fd)
        return child

    @staticmethod
    def _is_symlink(fd: int, name: str) -> bool:
        with contextlib.suppress(OSError):
            return stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
        return False

    def open_file(self, parts: list[str]) -> int:
        """Open an existing regular file for reading, following no symlink."""
        with self.parent_of(parts, create=False) as parent:
            return os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)


def lstat_at(parent: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return None


def remove_at(parent: int, name: str, keep_directory: bool = False) -> None:
    """Remove whatever is at name (a whole tree for a directory)."""
    info = lstat_at(parent, name)
    if info is None:
        return
    if stat.S_ISDIR(info.st_mode):
        if not keep_directory:
            shutil.rmtree(name, dir_fd=parent)
        return
    os.unlink(name, dir_fd=parent)


def clear_directory(fd: int) -> None:
    """Delete everything inside the directory open at fd."""
    for name in os.listdir(fd):
        remove_at(fd, name)
