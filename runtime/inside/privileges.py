"""What a container's process may do, set as its last steps before exec:
no_new_privs, the capability bounding set, its user and groups, the other
capability sets (prctl and capset(2), the same effect runc gets from
libcap), and the seccomp filter (seccomp(2), with the program that
container/pyreg_runtime.py compiled).
"""
from __future__ import annotations

import os

import _ctypes

from ..kernel import linux
from ..kernel.arch import syscall_number
from ..kernel.linux import CAPABILITY_NUMBERS
from . import namespaces
from .report import StartError

SECCOMP_SET_MODE_FILTER = 1


def drop_privileges(process: dict) -> None:
    """no_new_privs, the capability bounding set, then groups and ids."""
    user = process.get("user") or {}
    uid, gid = int(user.get("uid", 0)), int(user.get("gid", 0))
    caps = process.get("capabilities") or {}
    if process.get("noNewPrivileges"):
        linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
    drop_bounding(mask(caps.get("bounding", [])))
    groups = [int(g) for g in user.get("additionalGids") or []]
    if groups or namespaces.setgroups_allowed():  # a rootless namespace denies setgroups
        os.setgroups(groups)
    try:
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)  # a non-zero uid loses every capability here
    except OSError as err:
        raise StartError(f"cannot switch to uid {uid} gid {gid}: {err.strerror}"
                         + ("" if namespaces.setgroups_allowed() else " (rootless containers map only root)"))
    if uid == 0:
        apply_capabilities(caps)
    else:  # the uid change emptied the other sets; inheritable stays empty too
        linux.capset(0, 0, 0)
    linux.prctl(linux.PR_CAP_AMBIENT, linux.PR_CAP_AMBIENT_CLEAR_ALL)


def last_capability() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap", "rb") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return max(CAPABILITY_NUMBERS.values())


def mask(names: list[str]) -> int:
    value = 0
    for name in names:
        if name not in CAPABILITY_NUMBERS:
            raise ValueError(f"unknown capability {name!r}")
        value |= 1 << CAPABILITY_NUMBERS[name]
    return value


def drop_bounding(keep: int) -> None:
    """Remove every capability outside `keep` from the bounding set; after
    this even a setuid binary cannot regain them. Needs CAP_SETPCAP."""
    for number in range(last_capability() + 1):
        if not keep & (1 << number):
            try:
                linux.prctl(linux.PR_CAPBSET_DROP, number)
            except OSError:  # EINVAL: the kernel lacks that one
                pass


def apply_capabilities(capabilities: dict) -> None:
    """Set effective/permitted/inheritable from a spec's
    `process.capabilities`; the caller has dropped the bounding set. What
    we do not hold ourselves (--cap-add ALL where pyreg itself runs
    without some) cannot be granted, and is left out."""
    held = linux.capget()[1]
    linux.capset(mask(capabilities.get("effective", [])) & held,
                 mask(capabilities.get("permitted", [])) & held,
                 mask(capabilities.get("inheritable", [])) & held)


def load_seccomp(bpf: bytes) -> None:
    """Install the filter on this thread; every exec after inherits it."""
    instructions = len(bpf) // 8
    if not instructions or instructions > 0xFFFF or len(bpf) % 8:
        raise StartError("invalid seccomp program")
    filters = linux.buffer(bytearray(bpf))
    header = bytearray(instructions.to_bytes(2, "little") + bytes(6)
                       + _ctypes.addressof(filters).to_bytes(8, "little"))
    linux.syscall(syscall_number("seccomp"), SECCOMP_SET_MODE_FILTER, 0, header, what="seccomp")
