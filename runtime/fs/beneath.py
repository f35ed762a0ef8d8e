"""Writing tar entries beneath a directory without ever leaving it.

Every path is split into components and walked from an open directory fd,
one `openat(O_NOFOLLOW)` at a time, so a symlink planted by an earlier entry
(or an earlier layer) can never redirect a later write to the host. Entries
with absolute paths are taken relative to the root (as tar does); `..`
anywhere and walking through a symlink are refused outright.
"""
from __future__ import annotations

import errno
import os
import stat

from ..errors import RuntimeFailure

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeEntry(RuntimeFailure):
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

    def parent_of(self, parts: list[str], create: bool = True) -> "_ParentOf":
        """A context yielding an fd of the directory holding parts[-1],
        creating missing directories on the way when `create`; refuses
        symlinks on the way."""
        return _ParentOf(self, parts, create)

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
        try:
            return stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
        except OSError:
            return False


class _ParentOf:
    """Beneath.parent_of as a plain class: contextlib is not worth loading
    on the container start path for this one use."""

    def __init__(self, beneath: Beneath, parts: list[str], create: bool):
        self.beneath, self.parts, self.create = beneath, parts, create
        self.fd = -1

    def __enter__(self) -> int:
        fd = os.dup(self.beneath.fd)
        try:
            for index, part in enumerate(self.parts[:-1]):
                fd = self.beneath._step(fd, part, self.parts[:index + 1], self.create)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return fd

    def __exit__(self, *exc) -> None:
        os.close(self.fd)


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
            _remove_directory_at(parent, name)
        return
    os.unlink(name, dir_fd=parent)


def remove_tree(path: str) -> None:
    """Delete path and everything beneath it, never following a symlink:
    shutil.rmtree's guarantee, without loading shutil (and bz2, lzma, re)
    on the container start path."""
    parent, name = os.path.split(os.path.normpath(path))
    parent_fd = os.open(parent or ".", _DIR_FLAGS)
    try:
        if stat.S_ISDIR(os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode):
            _remove_directory_at(parent_fd, name)
        else:
            os.unlink(name, dir_fd=parent_fd)
    finally:
        os.close(parent_fd)


def _remove_directory_at(parent: int, name: str) -> None:
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    except PermissionError:  # rootless: overlayfs leaves work/work with mode 000
        os.chmod(name, 0o700, dir_fd=parent)
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    _remove_directory_at(fd, entry.name)
                else:
                    os.unlink(entry.name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent)


def clear_directory(fd: int) -> None:
    """Delete everything inside the directory open at fd."""
    for name in os.listdir(fd):
        remove_at(fd, name)
