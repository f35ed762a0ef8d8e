"""Extracting one layer's tar stream into a snapshot directory, safely.

Whiteouts are stored the way overlayfs reads them in a lower layer (see
whiteout.py); the copy fallback (rootfs.py) applies the same marks when it
flattens snapshots.
"""
from __future__ import annotations

import os
import shutil
import stat
import tarfile
from typing import BinaryIO

from ..fs.beneath import Beneath, UnsafeEntry, lstat_at, remove_at, split_member_path
from ..fs.whiteout import OPAQUE_MARKER, OVERLAY_XATTR_PREFIXES, WHITEOUT_PREFIX, opaque_xattr

_XATTR_PREFIX = "SCHILY.xattr."
_CHUNK = 1 << 20


class LayerExtractor:
    """Applies tar members beneath `root`, one at a time."""

    def __init__(self, root: str, as_root: bool | None = None):
        self.beneath = Beneath(root)
        self.as_root = os.geteuid() == 0 if as_root is None else as_root
        self.directory_times: list[tuple[list[str], int]] = []

    def extract(self, stream: BinaryIO) -> None:
        try:
            # "r:" on a forward-only stream: tarfile never seeks back, and its
            # random-access mode avoids the stream mode's buffer copying
            with tarfile.open(fileobj=stream, mode="r:") as archive:
                for member in archive:
                    self.apply(archive, member)
            self._restore_directory_times()
        except tarfile.TarError as err:
            raise UnsafeEntry(f"layer is not a valid tar archive: {err}") from None
        finally:
            self.beneath.close()

    def apply(self, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        parts = split_member_path(member.name)
        if not parts:
            if member.isdir():
                self._set_owner_mode(self.beneath.fd, member)
            return
        name = parts[-1]
        if name.startswith(WHITEOUT_PREFIX):
            self._whiteout(parts)
            return
        with self.beneath.parent_of(parts) as parent:
            if member.isdir():
                self._directory(parent, parts, member)
            elif member.isreg():
                self._regular(parent, name, archive, member)
            elif member.issym():
                remove_at(parent, name)
                os.symlink(member.linkname, name, dir_fd=parent)
                self._finish_link(parent, name, member)
            elif member.islnk():
                self._hardlink(parent, name, member)
            else:
                self._special(parent, name, member)

    def _whiteout(self, parts: list[str]) -> None:
        name = parts[-1]
        if name == OPAQUE_MARKER:
            with self.beneath.parent_of(parts[:-1] + ["x"]) as parent:
                os.setxattr(parent, opaque_xattr(), b"y")
            return
        if name.startswith(WHITEOUT_PREFIX * 2):
            return  # aufs bookkeeping (.wh..wh.plnk and friends): not content
        hidden = name[len(WHITEOUT_PREFIX):]
        if hidden in ("", ".", ".."):
            raise UnsafeEntry(f"bad whiteout {'/'.join(parts)!r}")
        with self.beneath.parent_of(parts) as parent:
            remove_at(parent, hidden)
            os.mknod(hidden, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=parent)

    def _directory(self, parent: int, parts: list[str], member: tarfile.TarInfo) -> None:
        name = parts[-1]
        existing = lstat_at(parent, name)
        if existing is not None and not stat.S_ISDIR(existing.st_mode):
            remove_at(parent, name)  # a symlink replaced by a directory stays a directory
            existing = None
        if existing is None:
            os.mkdir(name, 0o700, dir_fd=parent)
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
        try:
            self._set_owner_mode(fd, member)
            self._set_xattrs(fd, member)
        finally:
            os.close(fd)
        self.directory_times.append((parts, int(member.mtime)))

    def _regular(self, parent: int, name: str, archive: tarfile.TarFile,
                 member: tarfile.TarInfo) -> None:
        remove_at(parent, name)  # never write through an old link of any kind
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=parent)
        try:
            _copy_data(archive, member, fd)
            self._set_owner_mode(fd, member)
            self._set_xattrs(fd, member)
            os.utime(fd, ns=(int(member.mtime * 1e9),) * 2)
        finally:
            os.close(fd)

    def _hardlink(self, parent: int, name: str, member: tarfile.TarInfo) -> None:
        source = split_member_path(member.linkname)
        if not source:
            raise UnsafeEntry(f"hard link {member.name!r} has an empty target")
        try:
            with self.beneath.parent_of(source, create=False) as source_parent:
                self._link_from(source_parent, source[-1], parent, name, member)
        except FileNotFoundError:
            raise UnsafeEntry(f"hard link {member.name!r} -> {member.linkname!r}: "
                              "target is not in the layer") from None

    @staticmethod
    def _link_from(source_parent: int, source: str, parent: int, name: str,
                   member: tarfile.TarInfo) -> None:
        info = lstat_at(source_parent, source)
        if info is None or stat.S_ISDIR(info.st_mode):
            raise UnsafeEntry(f"hard link {member.name!r} -> {member.linkname!r}: "
                              "target is missing from the layer or is a directory")
        existing = lstat_at(parent, name)
        if existing is not None and os.path.samestat(info, existing):
            return
        remove_at(parent, name)
        os.link(source, name, src_dir_fd=source_parent, dst_dir_fd=parent, follow_symlinks=False)

    def _special(self, parent: int, name: str, member: tarfile.TarInfo) -> None:
        if member.ischr() or member.isblk():
            if not self.as_root:
                return  # device nodes need root; rootless containers get /dev from the runtime
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            remove_at(parent, name)
            os.mknod(name, kind | (member.mode & 0o7777),
                     os.makedev(member.devmajor, member.devminor), dir_fd=parent)
        elif member.isfifo():
            remove_at(parent, name)
            os.mkfifo(name, member.mode & 0o7777, dir_fd=parent)
        else:
            return  # sparse/unknown types: skipped, as umoci does
        self._finish_link(parent, name, member, chmod=True)

    def _finish_link(self, parent: int, name: str, member: tarfile.TarInfo,
                     chmod: bool = False) -> None:
        if self.as_root:
            os.chown(name, member.uid, member.gid, dir_fd=parent, follow_symlinks=False)
        if chmod:
            os.chmod(name, member.mode & 0o7777, dir_fd=parent)
        os.utime(name, ns=(int(member.mtime * 1e9),) * 2, dir_fd=parent, follow_symlinks=False)

    def _set_owner_mode(self, fd: int, member: tarfile.TarInfo) -> None:
        if self.as_root:
            os.chown(fd, member.uid, member.gid)  # before chmod: chown clears setuid
        os.chmod(fd, member.mode & 0o7777)

    def _set_xattrs(self, fd: int, member: tarfile.TarInfo) -> None:
        for key, value in member.pax_headers.items():
            if not key.startswith(_XATTR_PREFIX):
                continue
            attribute = key[len(_XATTR_PREFIX):]
            # overlay xattrs would let a layer forge whiteouts or redirects: never from a tar
            allowed = (attribute.startswith("user.") or (
                self.as_root and attribute == "security.capability")) and not attribute.startswith(
                OVERLAY_XATTR_PREFIXES)
            if allowed:
                raw = value.encode("utf-8", "surrogateescape")
                try:
                    os.setxattr(fd, attribute, raw)
                except OSError:
                    pass  # the filesystem may not take xattrs; content matters more

    def _restore_directory_times(self) -> None:
        for parts, mtime in reversed(self.directory_times):
            try:
                with self.beneath.parent_of(parts, create=False) as parent:
                    os.utime(parts[-1], ns=(mtime * 10**9,) * 2, dir_fd=parent,
                             follow_symlinks=False)
            except (OSError, UnsafeEntry):
                pass  # replaced later in the layer by something else


def _copy_data(archive: tarfile.TarFile, member: tarfile.TarInfo, fd: int) -> None:
    """The member's bytes straight from the stream (sparse files via tarfile)."""
    if member.sparse is not None:
        source = archive.extractfile(member)
        while chunk := source.read(_CHUNK):
            _write_all(fd, chunk)
        return
    stream = archive.fileobj
    stream.seek(member.offset_data)
    remaining = member.size
    while remaining > 0:
        chunk = stream.read(min(_CHUNK, remaining))
        if not chunk:
            raise UnsafeEntry(f"layer ends inside {member.name!r}")
        _write_all(fd, chunk)
        remaining -= len(chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
