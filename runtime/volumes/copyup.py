"""A new (empty) volume mounted where the image has content starts with a
copy of that content, as docker does: the image's view of that directory,
merged from its snapshots with their whiteouts, copied in whole (into a
directory beside the data, renamed over the empty one) or not at all.
"""
from __future__ import annotations

import errno
import os
import stat

from .. import paths
from ..fs.beneath import remove_tree, split_member_path
from ..fs.rootfs import flatten
from ..fs.whiteout import is_opaque_directory, is_whiteout


def layers_at(snapshots: list[str], path: str) -> list[str]:
    """The directories that make up `path` in the image, bottom layer
    first: from the top down, until a layer hides what is below (a
    whiteout, a file or symlink in its place, or an opaque directory).
    A symlink on the way is not followed: nothing is copied through it."""
    parts, found = split_member_path(path), []
    for snapshot in reversed(snapshots):
        kind, opaque = _look(snapshot, parts)
        if kind == "directory":
            found.append(os.path.join(snapshot, *parts))
        if kind == "hidden" or opaque:
            break
    return list(reversed(found))


def _look(snapshot: str, parts: list[str]) -> tuple[str, bool]:
    """("directory" | "absent" | "hidden", whether this layer is opaque there)."""
    current, opaque = snapshot, False
    for name in parts:
        current = os.path.join(current, name)
        try:
            info = os.lstat(current)
        except (FileNotFoundError, NotADirectoryError):
            return ("hidden" if opaque else "absent"), opaque
        if is_whiteout(info) or not stat.S_ISDIR(info.st_mode):
            return "hidden", opaque
        opaque = opaque or is_opaque_directory(current)
    return "directory", opaque


def fill_from_image(root: str, name: str, snapshots: list[str], path: str) -> bool:
    """Copy the image's `path` into the volume if the volume is empty; the
    caller holds the volume lock. Whether anything was copied."""
    data = paths.volume_data(root, name)
    layers = layers_at(snapshots, path)
    if not layers or os.listdir(data):
        return False
    filling = paths.volume_filling(root, name)
    os.mkdir(filling, 0o755)
    try:
        flatten(layers, filling)
        top = os.lstat(layers[-1])
        if os.geteuid() == 0:
            os.chown(filling, top.st_uid, top.st_gid)
        os.chmod(filling, stat.S_IMODE(top.st_mode))
        os.rename(filling, data)  # over the empty directory: whole, or not at all
    except OSError as err:
        remove_tree(filling)
        if err.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False  # a container wrote into it meanwhile: theirs stands
        raise
    return True
