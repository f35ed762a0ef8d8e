"""Containers whose output is kept: a detached one (`pyreg run -d`), which
a forked shim process in its own session supervises after `pyreg run`
returns, and an attached one that is not removed at exit. The supervisor
copies the output into `<container dir>/container.log` (logfile.py) and
records the exit code in state.json when the container ends.
"""
from __future__ import annotations

import os

from ..inside import process
from .logfile import LOG_NAME, OutputPipes, RotatingLog
from .run import Prepared, supervise, wait_exit_code


def open_log(prepared: Prepared) -> RotatingLog:
    container = prepared.container
    return RotatingLog(os.path.join(prepared.directory, LOG_NAME), container.log_max_size,
                       container.log_max_files)


def supervise_logged(prepared: Prepared, stdin: int, init: bool, attached: bool,
                     on_started=lambda container: None) -> int:
    """supervise() with the output through pipes into the log (and, when
    attached, on to our stdout and stderr)."""
    pipes = OutputPipes(open_log(prepared), attached)

    def started(container) -> None:
        pipes.started()
        on_started(container)

    def wait(pid: int) -> int:
        pipes.copy_until_closed()
        return wait_exit_code(pid)
    try:
        return supervise(prepared, process.Stdio(stdin, *pipes.container_ends), init,
                         on_started=started, wait=wait)
    finally:
        pipes.close()


def start_detached(prepared: Prepared, init: bool = False) -> None:
    """Return once the container runs; raise StartError if it could not start."""
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _shim(prepared, init, write_end)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as report:
        message = report.read().decode(errors="replace")
    if not message.startswith("ok"):
        code, _, text = message.partition(" ")
        raise process.StartError(text or "the container shim died", int(code or 125))


def _shim(prepared: Prepared, init: bool, report_fd: int) -> None:
    try:
        os.setsid()  # no terminal signals reach the shim
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # release the caller's pipes and terminal
            os.dup2(null, fd)

        def started(_container) -> None:
            os.write(report_fd, b"ok")
            os.close(report_fd)

        supervise_logged(prepared, null, init, attached=False, on_started=started)
    except process.StartError as err:
        _report(report_fd, err.exit_code, str(err))
    except BaseException as err:  # noqa: BLE001 - the caller must hear about it
        _report(report_fd, process.EXIT_SETUP_FAILED, str(err) or type(err).__name__)
    os._exit(0)


def _report(fd: int, code: int, text: str) -> None:
    try:
        os.write(fd, f"{code} {text}".encode())
    except OSError:
        pass
