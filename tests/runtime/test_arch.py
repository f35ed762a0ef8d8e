"""What differs per architecture: the system call numbers (held against the
kernel's own tables in linux-libc-dev's headers), the seccomp token, and
the sealed exec trampoline, run natively and, for the other architecture,
under qemu's user-mode emulator."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.errors import RuntimeFailure
from runtime.kernel import arch
from runtime.inside.trampoline import MARKER, PROGRAMS, elf_image

HEADERS = {"x86_64": "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
           "aarch64": "/usr/include/asm-generic/unistd.h"}  # aarch64 uses the generic table
EM_MACHINE = {"x86_64": 62, "aarch64": 183}


@pytest.mark.parametrize("machine", sorted(arch.SYSCALLS))
def test_syscall_numbers_are_the_kernels(machine):
    header = Path(HEADERS[machine])
    if not header.exists():
        pytest.skip(f"{header} missing (apt-get install linux-libc-dev)")
    defined = dict(re.findall(r"#define __NR_(\w+) (\d+)\b", header.read_text()))
    for name, number in arch.SYSCALLS[machine].items():
        assert int(defined[name]) == number, name


def test_other_machines_are_refused_in_one_line():
    with pytest.raises(RuntimeFailure, match="supports x86_64 and aarch64, not s390x: use --runtime runc"):
        arch.require_supported("s390x")
    with pytest.raises(OSError) as unknown:
        arch.syscall_number("pivot_root", "s390x")
    assert unknown.value.errno == 38  # ENOSYS: callers fall back as for a kernel without it
    assert arch.seccomp_arch("s390x") == "SCMP_ARCH_S390X"  # a spec for runc still gets one
    with pytest.raises(RuntimeFailure):
        elf_image(machine="s390x")


DRIVER = """
import os, subprocess, sys
read_end, write_end = os.pipe()
kept = os.dup(read_end)
os.close(read_end)
os.dup2(write_end, 3)
if write_end != 3:
    os.close(write_end)
code = subprocess.run(sys.argv[1:], pass_fds=(3,), timeout=60).returncode
os.close(3)
print(code, os.read(kept, 64).hex())
"""


def run_trampoline(command: list[str]) -> tuple[int, bytes]:
    """Run command with fd 3 a pipe (pyreg's report pipe), from a driver
    process of its own (pytest's capture owns our low fds); (exit code,
    what came through the pipe)."""
    out = subprocess.run([sys.executable, "-c", DRIVER, *command], capture_output=True,
                         text=True, timeout=90, check=True).stdout.split()
    return int(out[0]), bytes.fromhex(out[1] if len(out) > 1 else "")


def launcher(machine: str, tmp_path: Path) -> list[str]:
    """How to start machine's trampoline with argv[0] as pyreg gives it."""
    program = tmp_path / f"trampoline-{machine}"
    program.write_bytes(elf_image(machine=machine))
    program.chmod(0o755)
    if machine == os.uname().machine:
        return [sys.executable, "-c", "import os, sys; os.execv(sys.argv[1], [sys.argv[2], *sys.argv[3:]])",
                str(program), MARKER]
    emulator = shutil.which(f"qemu-{machine}-static") or shutil.which(f"qemu-{machine}")
    if emulator is None:
        pytest.skip(f"qemu-{machine}-static not installed (apt-get install qemu-user-static)")
    return [emulator, "-0", MARKER, str(program)]


@pytest.mark.parametrize("machine", sorted(PROGRAMS))
def test_trampoline_execs_the_command_and_reports_why_not(machine, tmp_path):
    image = elf_image(machine=machine)
    assert image[:4] == b"\x7fELF" and int.from_bytes(image[18:20], "little") == EM_MACHINE[machine]
    start = launcher(machine, tmp_path)
    assert run_trampoline(start + ["/bin/sh", "sh", "-c", "exit 7"]) == (7, b"")
    assert run_trampoline(start + ["/bin/sh", "sh", "-c", "test -e /proc/self/fd/3 || exit 9"]) == (9, b"")
    assert run_trampoline(start + ["/no/such/file", "x"]) == (127, (2).to_bytes(4, "little"))
    assert run_trampoline(start + ["/etc/passwd", "x"]) == (126, (13).to_bytes(4, "little"))
    assert run_trampoline(start + ["/bin/sh"]) == (126, b"")  # argc < 3


@pytest.mark.parametrize("machine", sorted(PROGRAMS))
def test_trampoline_refuses_to_be_an_interpreter(machine, tmp_path):
    """A `#!/proc/self/exe` script reaches it with its own argv[0], not pyreg's."""
    start = launcher(machine, tmp_path)
    if start[0] == sys.executable:
        start = start[:-1] + ["/proc/self/exe"]
    else:
        start = [start[0], start[3]]  # the emulator, without -0 MARKER
    assert run_trampoline(start + ["/bin/sh", "sh", "-c", "exit 7"]) == (126, b"")
