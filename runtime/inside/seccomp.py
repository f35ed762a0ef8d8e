"""Loading a container's seccomp filter: seccomp(2) with the compiled
program (container/seccomp_program.py), the last thing a container's
process does before it execs (no_new_privs is already set)."""
from __future__ import annotations

import _ctypes

from ..kernel import linux
from ..kernel.arch import syscall_number
from .report import StartError

SECCOMP_SET_MODE_FILTER = 1


def load(bpf: bytes) -> None:
    """Install the filter on this thread; every exec after inherits it."""
    instructions = len(bpf) // 8
    if not instructions or instructions > 0xFFFF or len(bpf) % 8:
        raise StartError("invalid seccomp program")
    filters = linux.buffer(bytearray(bpf))
    header = bytearray(instructions.to_bytes(2, "little") + bytes(6)
                       + _ctypes.addressof(filters).to_bytes(8, "little"))
    linux.syscall(syscall_number("seccomp"), SECCOMP_SET_MODE_FILTER, 0, header, what="seccomp")
