"""`pyreg exec -it C sh` through a real pty, side by side with podman: the
test holds the pty's master as a terminal emulator would, types commands,
resizes the window (TIOCSWINSZ) and reads `stty size` inside."""
from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

from tests.runtime.conftest import CLI, eventually
from tests.runtime.side_by_side import side_by_side  # noqa: F401 - a fixture

PROMPT = b"/ # "


def _read_until(fd: int, token: bytes, timeout: float = 15) -> bytes:
    seen, deadline = b"", time.monotonic() + timeout
    while token not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the other side closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _set_size(fd: int, rows: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def drive_shell(command: list[str]) -> tuple[list[bytes], int]:
    """What the shell answered to each step, and the exit code of command."""
    pid, master = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    try:
        _set_size(master, 30, 100)
        answers = [_read_until(master, PROMPT)]
        os.write(master, b"stty size; tty; echo $TERM\n")
        answers.append(_read_until(master, b"\r\n" + PROMPT))
        _set_size(master, 44, 120)  # the window changes while the shell runs
        time.sleep(0.3)
        os.write(master, b"stty size\n")
        answers.append(_read_until(master, b"\r\n" + PROMPT))
        os.write(master, b"exit 7\n")
        _read_until(master, b"never", 3)
        _, status = os.waitpid(pid, 0)
        return answers, os.waitstatus_to_exitcode(status)
    finally:
        os.close(master)


def _lines(answer: bytes) -> list[str]:
    return [line.strip() for line in answer.decode(errors="replace").split("\r\n")]


def test_exec_it_gives_a_terminal_that_follows_resizes(side_by_side):
    peers = side_by_side
    for run in (peers.pyreg, peers.podman):
        run("rm", "-f", "xt1")
        assert run("run", "-d", "--name", "xt1", "busybox", "sleep", "60").returncode == 0
    assert eventually(lambda: peers.mine("xt1")["State"]["Running"])
    ours = drive_shell([sys.executable, "-c", CLI, "--root", str(peers.root), "exec", "-it", "xt1", "sh"])
    theirs = drive_shell([*peers.peer.base, "exec", "-it", "xt1", "sh"])
    for answers, code in (ours, theirs):
        assert code == 7, answers
        assert b"BusyBox" in answers[0]
        first, second = _lines(answers[1]), _lines(answers[2])
        assert first[1:4] == ["30 100", "/dev/pts/0", "xterm"], first
        assert second[1] == "44 120", second
    for run in (peers.pyreg, peers.podman):
        run("rm", "-f", "xt1")


def test_exec_t_without_a_running_container_is_refused(side_by_side):
    peers = side_by_side
    peers.pyreg("rm", "-f", "xt2")
    assert peers.pyreg("run", "--name", "xt2", "busybox", "true").returncode == 0
    result = peers.pyreg("exec", "-it", "xt2", "sh")
    assert result.returncode == 126 and result.stderr == "pyreg: container xt2 is not running\n"
    peers.pyreg("rm", "-f", "xt2")
