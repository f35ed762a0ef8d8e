"""A COPY or ADD step's layer, written straight from the source tree: each
file is read once, into the tar, with no staging copy, and hashed as it
streams. A file whose digest is already known (it went into the step's cache
key) must match it, or the step fails (the file changed since) rather than
cache a wrong layer; a file not hashed yet gets its digest from this pass,
so a cold build reads and hashes the context once.
ADD's local archives are unpacked member by member into the same stream.
"""
from __future__ import annotations

import os
import posixpath
import tarfile

from ocispec.digest import Digest, Verifier

from .context import SourceTree
from .errors import BuildError
from .sources import CopyItem
from .tarstream import LayerStream, tar_header, tar_kind

_XATTR_RECORD = "SCHILY.xattr."


def write_copy(tree: SourceTree, items: list[CopyItem], stream: LayerStream, created_mtime: int) -> None:
    """`items` (in sources.select's order) into `stream`; directories the copy
    creates get `created_mtime`."""
    for item in items:
        name = item.target.lstrip("/")
        if item.entry is None:
            stream.add(tar_header(name, tarfile.DIRTYPE, item.mode, item.uid, item.gid, created_mtime))
        elif item.extract:
            _extract(tree, item, stream)
        else:
            _copy_entry(tree, item, name, stream)


def _copy_entry(tree: SourceTree, item: CopyItem, name: str, stream: LayerStream) -> None:
    entry = item.entry
    kind = tar_kind(entry.mode)
    if kind is None:
        return  # a socket
    header = tar_header(name, kind, item.mode, item.uid, item.gid, entry.mtime_ns // 10**9)
    if entry.is_symlink:
        header.linkname = entry.link
    elif kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        header.devmajor, header.devminor = os.major(entry.rdev), os.minor(entry.rdev)
    if not entry.is_file or not entry.size:
        stream.add(header)
        return
    header.size = entry.size
    expected = tree.known_digest(entry)
    check = Verifier(Digest.parse(expected)) if expected else Verifier()
    fd = tree.open(entry)
    try:
        stream.add(header, lambda size: os.read(fd, size), check)
    finally:
        os.close(fd)
    if expected is None:
        tree.learn_digest(entry, str(check.digest()))   # read once, hashed once
    elif not check.matches():
        raise BuildError(f"{os.path.join(tree.root, entry.path)} changed while the build was reading it")


def _extract(tree: SourceTree, item: CopyItem, stream: LayerStream) -> None:
    """A local archive (tar, gzip, bzip2 or xz) unpacked under item.target."""
    fd = tree.open(item.entry)
    with os.fdopen(fd, "rb") as raw:
        try:
            with tarfile.open(fileobj=raw, mode="r|*") as archive:
                for member in archive:
                    _extract_member(archive, member, item.target, stream)
        except (tarfile.TarError, EOFError, OSError) as err:
            raise BuildError(f"ADD {item.entry.path}: not a readable archive: {err}") from None


def _extract_member(archive: tarfile.TarFile, member: tarfile.TarInfo, target: str,
                    stream: LayerStream) -> None:
    name = _inside(target, member.name)
    if name is None:
        return  # the archive's own root entry
    header = tar_header(name, member.type, member.mode, member.uid, member.gid, int(member.mtime))
    header.pax_headers = {k: v for k, v in member.pax_headers.items() if k.startswith(_XATTR_RECORD)}
    header.devmajor, header.devminor = member.devmajor, member.devminor
    if member.islnk():
        header.linkname = _inside(target, member.linkname) or target.lstrip("/")
    elif member.issym():
        header.linkname = member.linkname
    if member.isreg():
        header.type = tarfile.REGTYPE  # contiguous and sparse files land as plain files
        header.size = member.size
        data = archive.extractfile(member)
        stream.add(header, data.read)
    else:
        stream.add(header)


def _inside(target: str, member_name: str) -> str | None:
    cleaned = posixpath.normpath("/" + member_name).lstrip("/")
    if not cleaned:
        return None
    return posixpath.join(target, cleaned).lstrip("/")
