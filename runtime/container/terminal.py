"""`pyreg run -t` and `pyreg exec -t`: the container's process gets a
pseudo-terminal as its controlling terminal; we relay between it and our
own stdin/stdout (raw mode when our stdin is a terminal, so keys such as
Ctrl-C reach the container's shell), and pass on our window size and its
changes.

The relay is a select loop in the main thread: after unshare(CLONE_NEWPID)
the kernel refuses to create threads in this process.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import termios
import tty

import _signal
import _socket

from ..inside import signals
from ..inside.console import attach_terminal
from ..inside.process import Stdio
from ..inside.report import StartError
from .logfile import open_log
from .run import Prepared, supervise

_CHUNK = 1 << 16


def _copy_size(source: int, target: int) -> None:
    with contextlib.suppress(OSError):
        size = fcntl.ioctl(source, termios.TIOCGWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
        fcntl.ioctl(target, termios.TIOCSWINSZ, size)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


@contextlib.contextmanager
def _raw_mode(fd: int, enabled: bool):
    if not enabled:
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class Relay:
    """Copies pty output to stdout (and the log, if any) and stdin to the
    pty until the container exits."""

    def __init__(self, master: int, interactive: bool, log=None):
        self.master, self.log = master, log
        self.sources = [master] + ([0] if interactive else [])

    def attach(self, master: int) -> None:
        self.sources = [master if fd == self.master else fd for fd in self.sources]
        self.master = master

    def close(self) -> None:
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    def wait(self, pid: int) -> int:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                self._drain()
                return signals.exit_code(status)
            self._step(0.05)

    def _step(self, timeout: float) -> None:
        try:
            ready, _, _ = select.select(self.sources, [], [], timeout)
        except InterruptedError:
            return
        for fd in ready:
            try:
                data = os.read(fd, _CHUNK)
            except OSError:
                data = b""
            if not data:
                self.sources.remove(fd)  # stdin at EOF, or the pty closed
                if fd == 0:
                    _write_all(self.master, b"\x04")  # EOF for the container's reader
                continue
            self._output(data) if fd == self.master else _write_all(self.master, data)

    def _output(self, data: bytes) -> None:
        if self.log is not None:
            self.log.write(data)
        _write_all(1, data)

    def _drain(self) -> None:
        while self.master in self.sources:
            ready, _, _ = select.select([self.master], [], [], 0)
            if not ready:
                return
            try:
                data = os.read(self.master, _CHUNK)
            except OSError:
                return
            if not data:
                return
            self._output(data)


def _receive_fd(sock) -> int:
    _, ancillary, _, _ = sock.recvmsg(1, _socket.CMSG_SPACE(4))
    for level, kind, data in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            return struct.unpack("i", data[:4])[0]
    raise StartError("the container did not send its terminal")


def run_with_terminal(prepared: Prepared, interactive: bool, init: bool,
                      keep_log: bool = False) -> int:
    """The container makes its pty in its own devpts and sends us the master."""
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    log = open_log(prepared.store.root, prepared.container) if keep_log else None
    relay = Relay(-1, interactive, log)

    def resized(_signum=None, _frame=None) -> None:
        # the kernel signals the pty's foreground group itself when its size changes
        _copy_size(0 if os.isatty(0) else 1, relay.master)

    def started(_container) -> None:
        theirs.close()
        relay.attach(_receive_fd(ours))
        _signal.signal(_signal.SIGWINCH, resized)  # supervise restores the previous handler
        resized()

    try:
        with _raw_mode(0, interactive and os.isatty(0)):
            channel = theirs.fileno()  # the container's PID 1 sends the pty master over it
            stdio = Stdio(0, 1, 2, terminal=lambda: attach_terminal(channel))
            return supervise(prepared, stdio, init, on_started=started, wait=relay.wait)
    finally:
        ours.close()
        theirs.close()
        relay.close()
        if log is not None:
            log.close()


def relay_terminal(start, interactive: bool) -> int:
    """`start(stdio)` starts a process that takes a new pty as its
    terminal (stdio.terminal, in the process before it execs) and returns
    its pid; relay to it until it exits; its exit code. `pyreg exec -t`."""
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    relay, previous = Relay(-1, interactive), None

    def resized(_signum=None, _frame=None) -> None:
        _copy_size(0 if os.isatty(0) else 1, relay.master)
    try:
        with _raw_mode(0, interactive and os.isatty(0)):
            channel = theirs.fileno()
            pid = start(Stdio(0, 1, 2, terminal=lambda: attach_terminal(channel)))
            theirs.close()
            relay.attach(_receive_fd(ours))
            previous = _signal.signal(_signal.SIGWINCH, resized)
            resized()
            return relay.wait(pid)
    finally:
        if previous is not None:
            _signal.signal(_signal.SIGWINCH, previous)
        ours.close()
        theirs.close()
        relay.close()
