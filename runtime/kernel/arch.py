"""What differs between the architectures pyreg runs containers on: the
numbers of the system calls it makes without a libc wrapper, and the token
by which seccomp profiles name the architecture.

pyreg's own runtime runs on x86_64 and aarch64 (the table below, and the
trampoline's machine code in inside/trampoline.py). Elsewhere it refuses
to start a container in one line; a spec for runc still gets the seccomp
token of any architecture docker's profiles know.
"""
from __future__ import annotations

import os

from ..errors import RuntimeFailure

# (x86_64: arch/x86/entry/syscalls/syscall_64.tbl; aarch64: the generic
# table of include/uapi/asm-generic/unistd.h)
SYSCALLS = {
    "x86_64": {"pivot_root": 155, "capget": 125, "capset": 126, "seccomp": 317,
               "open_tree": 428, "move_mount": 429, "mount_setattr": 442},
    "aarch64": {"pivot_root": 41, "capget": 90, "capset": 91, "seccomp": 277,
                "open_tree": 428, "move_mount": 429, "mount_setattr": 442},
}
SECCOMP_ARCHES = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64",
                  "armv7l": "SCMP_ARCH_ARM", "s390x": "SCMP_ARCH_S390X",
                  "ppc64le": "SCMP_ARCH_PPC64LE", "riscv64": "SCMP_ARCH_RISCV64"}
MACHINE = os.uname().machine
_ENOSYS = 38


class UnsupportedArch(RuntimeFailure):
    pass


def require_supported(machine: str = MACHINE) -> None:
    """Refuse, in one line, an architecture pyreg's own runtime lacks."""
    if machine not in SYSCALLS:
        raise UnsupportedArch(f"pyreg's own runtime supports {' and '.join(SYSCALLS)}, not "
                              f"{machine}: use --runtime runc or crun")


def syscall_number(name: str, machine: str = MACHINE) -> int:
    """The number of a system call here; OSError(ENOSYS) where pyreg does
    not know it, as the kernel answers a call it lacks."""
    try:
        return SYSCALLS[machine][name]
    except KeyError:
        raise OSError(_ENOSYS, f"{name}: no system call number known on {machine}") from None


def seccomp_arch(machine: str = MACHINE) -> str:
    if machine not in SECCOMP_ARCHES:
        raise UnsupportedArch(f"no seccomp architecture known for {machine}")
    return SECCOMP_ARCHES[machine]
