"""Detached containers (`pyreg run -d`): a forked shim process, in its own
session, supervises the container after `pyreg run` returns. It sends the
container's output to `<container dir>/container.log` and records the exit
code in state.json when the container ends.
"""
from __future__ import annotations

import os

from . import process
from .run import Prepared, supervise

LOG_NAME = "container.log"


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
        log = os.open(os.path.join(prepared.directory, LOG_NAME), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # release the caller's pipes and terminal
            os.dup2(null, fd)
        stdio = process.Stdio(null, log, log)

        def started(_container) -> None:
            os.write(report_fd, b"ok")
            os.close(report_fd)

        supervise(prepared, stdio, init, on_started=started)
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
