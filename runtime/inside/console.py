"""`pyreg run -t`, the container's side: its PID 1, before exec, makes a
pty in the container's own devpts (so ttyname works inside), takes the
slave as stdio and controlling terminal, and sends the master to pyreg
(terminal.py relays it). Imported before pivot_root, like all it needs.
"""
from __future__ import annotations

import fcntl
import os
import struct
import termios

import _socket

TIOCSPTLCK = getattr(termios, "TIOCSPTLCK", 0x40045431)  # unlockpt(3)
TIOCGPTN = getattr(termios, "TIOCGPTN", 0x80045430)  # ptsname(3)


def attach_terminal(channel: int) -> None:
    """The container's side, in its PID 1 before exec: make a pty in the
    container's own devpts (so ttyname works inside), take its slave as stdio
    and controlling terminal, and pass the master to the caller over the unix
    socket `channel`."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))  # unlockpt
    number = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0" * 4))[0]
    slave = os.open(f"/dev/pts/{number}", os.O_RDWR)
    _inherit_size(master)
    for target in (0, 1, 2):
        os.dup2(slave, target)
    os.close(slave)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    sender = _socket.socket(fileno=os.dup(channel))
    sender.sendmsg([b"m"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("i", master))])
    sender.close()
    os.close(master)


def _inherit_size(master: int) -> None:
    """The caller's window size, set before the command runs: pyreg copies
    it again once it holds the master, but by then the command may have
    read 0x0 (stty size raced it)."""
    for caller in (0, 1):
        try:
            size = fcntl.ioctl(caller, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(master, termios.TIOCSWINSZ, size)
            return
        except OSError:
            continue
