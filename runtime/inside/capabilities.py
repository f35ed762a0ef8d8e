"""Dropping capabilities to the spec's sets with prctl(PR_CAPBSET_DROP) and
capset(2), the same effect runc gets from libcap."""
from __future__ import annotations

from ..kernel import linux

CAPABILITY_NUMBERS = {name: number for number, name in enumerate((
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"))}


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


def apply(capabilities: dict) -> None:
    """Set effective/permitted/inheritable from a spec's
    `process.capabilities`; the caller has dropped the bounding set. What
    we do not hold ourselves (--cap-add ALL where pyreg itself runs
    without some) cannot be granted, and is left out."""
    held = linux.capget()[1]
    linux.capset(mask(capabilities.get("effective", [])) & held,
                 mask(capabilities.get("permitted", [])) & held,
                 mask(capabilities.get("inheritable", [])) & held)
