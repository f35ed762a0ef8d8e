"""Rootless containers: a user namespace in which the calling user is root.

Only the caller's own uid and gid are mapped (to 0), which needs no setuid
helper; inside, the container runs as root over files that the user owns
outside. Cgroup limits are not available this way.
"""
from __future__ import annotations

import os

from ..kernel import linux


def rootless() -> bool:
    return os.geteuid() != 0


def enter_user_namespace() -> None:
    """Unshare a user namespace and map our uid/gid to 0 inside it; we then
    hold every capability over namespaces created from here on."""
    uid, gid = os.geteuid(), os.getegid()
    linux.unshare(linux.CLONE_NEWUSER)
    _write("/proc/self/setgroups", "deny")  # required before an unprivileged gid_map
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")


def setgroups_allowed() -> bool:
    try:
        with open("/proc/self/setgroups") as handle:
            return handle.read().strip() != "deny"
    except OSError:
        return True


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)
