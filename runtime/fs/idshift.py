"""A container's own copy of its image, owned as its user namespace sees
it (--userns=auto): every entry's uid and gid moved up by the start of
the container's range, so root's files inside are the range's first id
on the host. Ids beyond the range's size are left as they are: inside
they show as the overflow id (nobody), as with podman.
"""
from __future__ import annotations

import os
import stat

_SPECIAL_BITS = stat.S_ISUID | stat.S_ISGID


def shift_ownership(tree: str, uid: int, gid: int, size: int) -> None:
    """Walk tree (no symlink followed) and shift each entry's owner."""
    _shift(tree, uid, gid, size)
    for directory, subdirectories, files in os.walk(tree):
        for name in subdirectories + files:
            _shift(os.path.join(directory, name), uid, gid, size)


def _shift(path: str, uid: int, gid: int, size: int) -> None:
    info = os.lstat(path)
    new_uid = info.st_uid + uid if info.st_uid < size else info.st_uid
    new_gid = info.st_gid + gid if info.st_gid < size else info.st_gid
    os.lchown(path, new_uid, new_gid)
    # chown clears setuid and setgid of a file: the image's modes stand
    if stat.S_ISREG(info.st_mode) and info.st_mode & _SPECIAL_BITS:
        os.chmod(path, stat.S_IMODE(info.st_mode))
