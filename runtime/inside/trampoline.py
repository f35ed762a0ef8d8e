"""The last exec into a container goes through a sealed trampoline, so that
no host file is ever the container's `/proc/PID/exe` (CVE-2019-5736).

The process that sets a container up is the host's Python interpreter. If
it exec'd the command itself and the command were a script starting with
`#!/proc/self/exe`, the kernel would run the host interpreter inside the
container, reachable there through /proc/PID/exe for writing, chmod or
setxattr. runc re-execs itself from a sealed memfd copy for this; the
interpreter cannot cheaply do the same (a second interpreter start), so
pyreg execs a small static program (127 bytes of code on x86_64, 140 on
aarch64) from a sealed memfd instead, and it execs the command. Whatever
then resolves /proc/self/exe reaches only that memfd, which no one can
write (F_SEAL_WRITE), grow or unseal.

The program (argv[0] "\\x01" marks a start by pyreg, anything else, such
as a `#!/proc/self/exe` script, gets exit 126):

    if argc < 3 or argv[0] != "\\x01": exit(126)
    fcntl(3, F_SETFD, FD_CLOEXEC)          # fd 3: pyreg's report pipe
    execve(argv[1], &argv[2], envp)
    write(3, &errno, 4); exit(errno == ENOENT ? 127 : 126)

On any other architecture there is no program: the runtime refuses to
start (kernel/arch.py).
"""
from __future__ import annotations

import os
import stat

from ..kernel import linux
from ..kernel.arch import MACHINE, UnsupportedArch

_X86_64 = bytes.fromhex(
    "488b0c244883f9037269488b44240866833801755eb848000000bf03000000be02000000"
    "ba010000000f05488b0c24488b7c2410488d742418488d54cc10b83b0000000f05f7d850"
    "b801000000bf030000004889e6ba040000000f0558bf7e00000083f8027505bf7f000000"
    "b8e70000000f05bf7e000000b8e70000000f05")
# aarch64, the same steps (the system call in x8, its arguments in x0-x2):
#   ldr x1,[sp]; cmp x1,#3; b.lo refuse; ldr x2,[sp,#8]; ldrh w3,[x2]; cmp w3,#1; b.ne refuse
#   fcntl(25): x0=3 x1=2 x2=1; svc #0
#   execve(221): x0=[sp,#16] x1=sp+24 x2=sp+8*argc+16; svc #0
#   neg w4,w0; str w4,[sp,#-16]!; write(64): x0=3 x1=sp x2=4; svc #0
#   x0 = w4 == 2 ? 127 : 126; exit_group(94)
#   refuse: x0=126; exit_group(94)
_AARCH64 = bytes.fromhex(
    "e10340f93f0c00f1c3030054e20740f9430040797f04007141030054600080d2410080d2"
    "220080d2280380d2010000d4e30340f9e00b40f9e1630091e26f238b42400091a81b80d2"
    "010000d4e403004be40f1fb8600080d2e1030091820080d2080880d2010000d4c00f80d2"
    "9f08007141000054e00f80d2c80b80d2010000d4c00f80d2c80b80d2010000d4")
# machine -> (ELF e_machine, the PT_LOAD's alignment: 64 KiB pages exist on aarch64, code)
PROGRAMS = {"x86_64": (62, 0x1000, _X86_64), "aarch64": (183, 0x10000, _AARCH64)}
_BASE = 0x400000
_HEADERS = 64 + 2 * 56  # the ELF header, a PT_LOAD and a PT_GNU_STACK program header
MARKER = "\x01"
REPORT_FD, PROGRAM_FD = 3, 4
MFD_EXEC = 0x10  # Linux 6.3+: say the memfd is meant to be executed
F_ADD_SEALS = 1033
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_EXEC = 1, 2, 4, 8, 0x20


def _u16(n): return n.to_bytes(2, "little")
def _u32(n): return n.to_bytes(4, "little")
def _u64(n): return n.to_bytes(8, "little")


def elf_image(code: bytes | None = None, machine: str = MACHINE) -> bytes:
    """A static executable for machine running code (by default the
    trampoline's), position-dependent at 4 MiB."""
    if machine not in PROGRAMS:
        raise UnsupportedArch(f"pyreg has no exec trampoline for {machine}")
    elf_machine, align, program = PROGRAMS[machine]
    code = program if code is None else code
    size = _HEADERS + len(code)
    header = (b"\x7fELF" + bytes((2, 1, 1, 0)) + bytes(8)  # 64-bit, little-endian, v1, SysV
              + _u16(2) + _u16(elf_machine) + _u32(1)  # ET_EXEC
              + _u64(_BASE + _HEADERS) + _u64(64) + _u64(0)  # entry, phoff, shoff
              + _u32(0) + _u16(64) + _u16(56) + _u16(2) + _u16(64) + _u16(0) + _u16(0))
    load = (_u32(1) + _u32(5) + _u64(0) + _u64(_BASE) + _u64(_BASE)  # PT_LOAD, R+X
            + _u64(size) + _u64(size) + _u64(align))
    stack = _u32(0x6474E551) + _u32(6) + bytes(48)  # PT_GNU_STACK, RW: no executable stack
    return header + load + stack + code


def sealed_program() -> int:
    """A close-on-exec fd of a memfd holding the program, sealed for good."""
    flags = os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING
    try:
        fd = os.memfd_create("pyreg-exec", flags | MFD_EXEC)
    except OSError:  # before Linux 6.3
        fd = os.memfd_create("pyreg-exec", flags)
    try:
        os.write(fd, elf_image())
        seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL
        try:
            linux.fcntl(fd, F_ADD_SEALS, seals | F_SEAL_EXEC)  # and no chmod either
        except OSError:
            linux.fcntl(fd, F_ADD_SEALS, seals)
    except BaseException:
        os.close(fd)
        raise
    return fd


def find_executable(name: str, env: dict[str, str]) -> str:
    """execvp's search along env's PATH, decided by stat and access(2) as the
    container's user: the first regular executable file wins; if only
    unusable ones exist, PermissionError; if none, FileNotFoundError."""
    candidates = [name] if "/" in name else [
        os.path.join(directory, name) for directory in (env.get("PATH") or os.defpath).split(":")]
    denied = None
    for candidate in candidates:
        try:
            info = os.stat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as err:
            denied = denied or err
            continue
        if stat.S_ISREG(info.st_mode) and os.access(candidate, os.X_OK):
            return candidate
        denied = denied or PermissionError(13, "permission denied", candidate)
    raise denied or FileNotFoundError(2, "not found", name)


def exec_through(program_fd: int, report_fd: int, path: str, args: list[str],
                 env: dict[str, str], before_exec=None) -> None:
    """Exec the program with the report pipe as fd 3 and nothing else open
    but stdio; `before_exec()` (the seccomp filter) runs just before."""
    report, program = os.dup2(report_fd, 900), os.dup2(program_fd, 901, inheritable=False)
    os.dup2(report, REPORT_FD)
    os.dup2(program, PROGRAM_FD, inheritable=False)
    os.closerange(PROGRAM_FD + 1, 1 << 20)
    if before_exec is not None:
        before_exec()
    os.execve(PROGRAM_FD, [MARKER, path, *args], env)


def failure(report: bytes, command: str) -> tuple[int, str] | None:
    """(exit code, message) when the report is the program's errno."""
    if len(report) != 4 or report[0] >= 0x30:  # pyreg's own reports start with a digit
        return None
    error = int.from_bytes(report, "little")
    if error == 2:
        return 127, f"exec {command!r}: executable file not found in $PATH"
    return 126, f"exec {command!r}: {os.strerror(error).lower()}"
