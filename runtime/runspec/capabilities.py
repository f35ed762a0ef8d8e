"""Capabilities by name: the kernel's numbers, podman's default set, and
--cap-add / --cap-drop applied to it as docker does.
"""
from __future__ import annotations

from .options import SpecError

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

# podman's default set: docker's without CAP_MKNOD, CAP_NET_RAW and CAP_AUDIT_WRITE
DEFAULT_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_SETFCAP")


def _capability_name(text: str) -> str:
    name = text.strip().upper()
    name = name if name.startswith("CAP_") or name == "ALL" else f"CAP_{name}"
    if name != "ALL" and name not in CAPABILITY_NUMBERS:
        raise SpecError(f"unknown capability {text!r}")
    return name


def resolve_capabilities(add: tuple[str, ...], drop: tuple[str, ...]) -> list[str]:
    """The default set with --cap-add / --cap-drop applied, as docker does:
    ALL in drop starts from nothing, ALL in add grants every capability
    but those dropped by name. Sorted by number, as the kernel lists them."""
    added, dropped = {_capability_name(n) for n in add}, {_capability_name(n) for n in drop}
    if "ALL" in added:
        caps = set(CAPABILITY_NUMBERS) - dropped
    else:
        caps = set() if "ALL" in dropped else set(DEFAULT_CAPABILITIES) - dropped
        caps |= added
    return sorted(caps, key=CAPABILITY_NUMBERS.__getitem__)
