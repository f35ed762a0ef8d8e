"""Bind mounts through the new mount API (Linux 5.12+): open_tree clones the
source as a detached tree, mount_setattr sets read-only, nodev... on every
mount of it at once (AT_RECURSIVE), and move_mount attaches it. The tree
is never visible with the wrong flags, and a read-only volume is read-only
in its submounts too, which a remount of the top mount alone is not."""
from __future__ import annotations

import os

from ..kernel import linux
from ..kernel.arch import syscall_number

OPEN_TREE_CLONE = 1
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOVE_MOUNT_T_EMPTY_PATH = 0x40
MOUNT_ATTR = {linux.MS_RDONLY: 0x1, linux.MS_NOSUID: 0x2, linux.MS_NODEV: 0x4,
              linux.MS_NOEXEC: 0x8}


def bind(source: str, target_fd: int, flags: int) -> None:
    """Bind source onto the directory or file open as target_fd (O_PATH),
    with the MS_RDONLY/NOSUID/NODEV/NOEXEC bits of flags on every mount of
    the tree (all of it with MS_REC, else its top only), private."""
    recursive = AT_RECURSIVE if flags & linux.MS_REC else 0
    tree = linux.syscall(syscall_number("open_tree"), AT_FDCWD, os.fsencode(source),
                         OPEN_TREE_CLONE | os.O_CLOEXEC | recursive, what=f"open_tree {source}")
    try:
        attributes = 0
        for flag, attribute in MOUNT_ATTR.items():
            if flags & flag:
                attributes |= attribute
        request = bytearray(attributes.to_bytes(8, "little") + bytes(8)
                            + linux.MS_PRIVATE.to_bytes(8, "little") + bytes(8))
        linux.syscall(syscall_number("mount_setattr"), tree, b"", AT_EMPTY_PATH | recursive, request,
                      len(request), what="mount_setattr")
        linux.syscall(syscall_number("move_mount"), tree, b"", target_fd, b"",
                      MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH, what="move_mount")
    finally:
        os.close(tree)
