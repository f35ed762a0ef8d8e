"""Containers whose output is kept: a detached one (`pyreg run -d`), which
a forked shim process in its own session supervises after `pyreg run`
returns, and an attached one that is not removed at exit. The supervisor
copies the output into `<container dir>/container.log` (logfile.py) and
records the exit code in state.json when the container ends.
"""
from __future__ import annotations

import os

from ..inside import signals
from ..inside.process import Stdio
from ..inside.report import STARTED, fork_reporting
from . import networking
from .logfile import OutputPipes, open_log
from .run import Prepared, supervise


def supervise_logged(prepared: Prepared, stdin: int, init: bool, attached: bool,
                     on_started=lambda container: None) -> int:
    """supervise() with the output through pipes into the log (and, when
    attached, on to our stdout and stderr)."""
    pipes = OutputPipes(open_log(prepared.store.root, prepared.container), attached)

    def started(container) -> None:
        pipes.started()
        on_started(container)

    def wait(pid: int) -> int:
        pipes.copy_until_closed()
        return signals.wait_exit_code(pid)
    try:
        return supervise(prepared, Stdio(stdin, *pipes.container_ends), init,
                         on_started=started, wait=wait)
    finally:
        pipes.close()


def start_detached(prepared: Prepared, init: bool = False) -> None:
    """Return once the container runs; raise StartError if it could not start."""
    fork_reporting(lambda report_fd, _program: _shim(prepared, init, report_fd), sealed=False,
                   acknowledged=True)


def _shim(prepared: Prepared, init: bool, report_fd: int) -> None:
    os.setsid()  # no terminal signals reach the shim
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # release the caller's pipes and terminal
        os.dup2(null, fd)

    def started(_container) -> None:
        os.write(report_fd, STARTED)
        # the caller returns; a later failure's report must not reach a reused fd number
        os.dup2(null, report_fd, inheritable=False)
    if prepared.attachment is not None:  # the caller returns: its network is ours to release
        networking.hand_over(prepared.store.root, prepared.attachment, prepared.container.id)
    if prepared.container.restart_policy == "no":
        supervise_logged(prepared, null, init, attached=False, on_started=started)
        return
    from .restarts import keep_restarting
    keep_restarting(prepared, lambda again, on_started: supervise_logged(
        again, null, init, attached=False, on_started=on_started), report_fd)
