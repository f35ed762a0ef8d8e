"""A RUN step's layer: the overlayfs upper directory it left, as an OCI layer.

New and changed files are written as they are, with their modes, numeric
owners, hard links (the first path in canonical order carries the data, the
others link to it), symlinks, device nodes and FIFOs, and the xattrs a layer
carries (security.capability, user.*). overlayfs' own marks become the
layer's, as docker's overlay differ writes them: a 0:0 character device is a
deletion (`.wh.NAME`, mode 0) and a directory with `trusted.overlay.opaque=y`
(`user.overlay.opaque` when rootless) hides what was below it
(`.wh..wh..opq` right after the directory). Directories come before their
entries, entries sorted by name (bytes): one canonical order.
"""
from __future__ import annotations

import os
import stat
import tarfile
from typing import Iterator

from .context import open_unchanged
from .errors import BuildError
from .tarstream import LayerStream, tar_header, tar_kind

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
_OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")
# overlayfs features whose upper files say "the content is elsewhere": a layer cannot express them
_REFERRING_XATTRS = ("trusted.overlay.redirect", "trusted.overlay.metacopy",
                     "user.overlay.redirect", "user.overlay.metacopy")
_KEPT_XATTRS = ("security.capability", "user.")
_OVERLAY_XATTRS = ("trusted.overlay.", "user.overlay.")


def write_upper(upper: str, stream: LayerStream) -> None:
    """Every change recorded in `upper`, into `stream` (the caller finishes it)."""
    hard_links: dict[tuple[int, int], str] = {}
    for path, full, info in walk_sorted(upper):
        for header in _headers(path, full, info, hard_links):
            if header.isreg() and header.size:
                fd = open_unchanged(full, info.st_dev, info.st_ino, info.st_size)
                try:
                    stream.add(header, lambda size: os.read(fd, size))
                finally:
                    os.close(fd)
            else:
                stream.add(header)


def walk_sorted(root: str, relative: str = "") -> Iterator[tuple[str, str, os.stat_result]]:
    """(relative path, full path, lstat) of everything below `root`, each
    directory before its entries, entries sorted by their names' bytes."""
    with os.scandir(os.path.join(root, relative)) as scanner:
        names = sorted((item.name for item in scanner), key=lambda n: n.encode("utf-8", "surrogateescape"))
    for name in names:
        path = f"{relative}/{name}" if relative else name
        full = os.path.join(root, path)
        info = os.lstat(full)
        yield path, full, info
        if stat.S_ISDIR(info.st_mode):
            yield from walk_sorted(root, path)


def header_for(path: str, info: os.stat_result, kind: bytes) -> tarfile.TarInfo:
    return tar_header(path, kind, info.st_mode, info.st_uid, info.st_gid, int(info.st_mtime))


def _headers(path: str, full: str, info: os.stat_result, hard_links: dict) -> list[tarfile.TarInfo]:
    mode = info.st_mode
    if stat.S_ISCHR(mode) and info.st_rdev == 0:
        head, _, name = path.rpartition("/")
        whiteout = header_for((head + "/" if head else "") + WHITEOUT_PREFIX + name, info, tarfile.REGTYPE)
        whiteout.mode = 0
        return [whiteout]
    if stat.S_ISDIR(mode):
        header = header_for(path, info, tarfile.DIRTYPE)
        xattrs = _xattrs(full, header)
        if any(xattrs.get(name) == b"y" for name in _OPAQUE_XATTRS):
            return [header, header_for(f"{path}/{OPAQUE_MARKER}", info, tarfile.REGTYPE)]
        return [header]
    if stat.S_ISREG(mode):
        return [_regular(path, full, info, hard_links)]
    if stat.S_ISLNK(mode):
        header = header_for(path, info, tarfile.SYMTYPE)
        header.linkname = os.readlink(full)
        return [header]
    kind = tar_kind(mode)
    if kind is None:
        return []  # sockets are not content, as docker skips them
    header = header_for(path, info, kind)
    header.devmajor, header.devminor = os.major(info.st_rdev), os.minor(info.st_rdev)
    return [header]


def _regular(path: str, full: str, info: os.stat_result, hard_links: dict) -> tarfile.TarInfo:
    key = (info.st_dev, info.st_ino)
    if info.st_nlink > 1 and key in hard_links:
        header = header_for(path, info, tarfile.LNKTYPE)
        header.linkname = hard_links[key]
        return header
    if info.st_nlink > 1:
        hard_links[key] = path
    header = header_for(path, info, tarfile.REGTYPE)
    header.size = info.st_size
    _xattrs(full, header)
    return header


def _xattrs(full: str, header: tarfile.TarInfo) -> dict[str, bytes]:
    """All xattrs of a file; the ones a layer carries go into its PAX header."""
    try:
        names = os.listxattr(full, follow_symlinks=False)
    except OSError:
        return {}
    values = {}
    for name in sorted(names):
        if name.startswith(_REFERRING_XATTRS):
            raise BuildError(f"{full}: overlayfs {name} cannot be written into a layer")
        try:
            values[name] = os.getxattr(full, name, follow_symlinks=False)
        except OSError:
            continue
        if name.startswith(_KEPT_XATTRS) and not name.startswith(_OVERLAY_XATTRS):
            header.pax_headers[f"SCHILY.xattr.{name}"] = values[name].decode("utf-8", "surrogateescape")
    return values
