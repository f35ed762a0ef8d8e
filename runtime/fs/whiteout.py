"""How image layers and overlayfs mark deletions.

In a layer tar, `.wh.NAME` deletes NAME from the layers below and
`.wh..wh..opq` hides everything below in its directory. In a snapshot (an
overlayfs lower layer) the same facts are a 0:0 character device named NAME
and the xattr `trusted.overlay.opaque=y` on the directory; rootless stores
(made by a non-root user, mounted with overlayfs' `userxattr` option) use
`user.overlay.opaque` instead, since only root may set trusted.* xattrs.
"""
from __future__ import annotations

import os
import stat

OPAQUE_XATTR = "trusted.overlay.opaque"
ROOTLESS_OPAQUE_XATTR = "user.overlay.opaque"
OVERLAY_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


def opaque_xattr() -> str:
    return OPAQUE_XATTR if os.geteuid() == 0 else ROOTLESS_OPAQUE_XATTR


def is_whiteout(info: os.stat_result) -> bool:
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == 0


def is_opaque_directory(path: str) -> bool:
    """Whether the snapshot directory at path hides the layers below it
    (either xattr: a store made by root or by a rootless user)."""
    for name in (OPAQUE_XATTR, ROOTLESS_OPAQUE_XATTR):
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False
