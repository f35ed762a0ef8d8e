"""Signals and exit statuses, the same for every process that stands
between the caller and a container's command: the attached `pyreg run`,
the detached shim, the terminal relay and the `--init` reaper forward the
same signals, and each turns a wait status into the same exit code.
"""
from __future__ import annotations

import os

# _signal, not signal: the wrapper module builds IntEnums at import (~1 ms).
import _signal

from ..errors import EXIT_SETUP_FAILED

# What a supervisor passes on to the container rather than dying of it
FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT,
             _signal.SIGUSR1, _signal.SIGUSR2, _signal.SIGWINCH)


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + signal."""
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def wait_exit_code(pid: int) -> int:
    """Wait for pid to end; its exit code (125 if it was not our child)."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return EXIT_SETUP_FAILED
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            return exit_code(status)


def forward(pid: int, signum: int) -> None:
    """Pass signum on to pid, if it is still there to take it."""
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def reset_to_defaults() -> None:
    """Python ignores SIGPIPE and SIGXFSZ, and a shim may ignore more; exec
    keeps ignored signals ignored (caught ones it resets itself), so give the
    command the defaults. Python's table mirrors the kernel's, so only the
    ignored ones (and None: set outside Python) cost a system call."""
    for signum in _signal.valid_signals():
        if signum < _signal.SIGRTMIN and _signal.getsignal(signum) in (_signal.SIG_IGN, None):
            try:
                _signal.signal(signum, _signal.SIG_DFL)
            except (OSError, ValueError):
                pass
    _signal.pthread_sigmask(_signal.SIG_SETMASK, [])
