"""Forking a child that says how its start went, over a close-on-exec pipe.

The child either execs, which closes the pipe (the parent reads EOF), or
writes one report, `CODE TEXT`, and exits with CODE. A child that stays a
supervisor instead of exec'ing (the detached shim) writes `0` once its
container runs, so that a shim dying early is not taken for a start. The
trampoline, which cannot format text, reports its exec's errno as 4 bytes
(trampoline.failure). The parent turns a report into StartError.

The children of a container are non-dumpable from their first instruction
on: they are visible in the container's PID namespace before they exec, and
a dumpable one would open its /proc/PID/exe, fd and root to the container.
"""
from __future__ import annotations

import os

import _signal

from ..errors import RuntimeFailure, describe, exit_code_of
from ..kernel import linux
from . import trampoline

STARTED = b"0"


class StartError(RuntimeFailure):
    """The container's process could not start; exit_code says how."""


def fork_reporting(child, sealed: bool = True, after_fork=None, command: str = "",
                   acknowledged: bool = False, explain=None) -> int:
    """Fork and return the child's pid once it has exec'd (or, acknowledged,
    said it started); raise StartError with its report if it failed.

    `child(report_fd, program_fd)` runs in the child and execs, or returns
    (then the child exits 0); what it raises is reported. sealed: the child
    is non-dumpable and gets the sealed trampoline's fd (else -1).
    `after_fork(pid)` runs while the child works (on the other core).
    `explain()`, if given, adds detail to a failure's report (a traceback
    with --debug): passed in, because the child may not import anything."""
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid, program_fd = _fork(sealed)
    if pid == 0:
        os.close(read_end)
        _run_child(child, write_end, program_fd, explain)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as report:
        if after_fork is not None:
            _run_after_fork(after_fork, pid)
        message = report.read()
    if message == STARTED or (not message and not acknowledged):
        return pid
    os.waitpid(pid, 0)
    raise _start_error(message, command)


def _fork(sealed: bool) -> tuple[int, int]:
    if not sealed:
        return os.fork(), -1
    program_fd = trampoline.sealed_program()
    was_dumpable = linux.prctl(linux.PR_GET_DUMPABLE)
    linux.prctl(linux.PR_SET_DUMPABLE, 0)
    pid = -1
    try:
        pid = os.fork()
    finally:
        if pid != 0:  # the parent (or a failed fork): as before, and no trampoline
            os.close(program_fd)
            if was_dumpable:
                linux.prctl(linux.PR_SET_DUMPABLE, 1)
    return pid, program_fd


def _run_child(child, report_fd: int, program_fd: int, explain) -> None:
    """Never returns."""
    try:
        child(report_fd, program_fd)
    except BaseException as err:  # noqa: BLE001 - everything must reach the parent
        code = exit_code_of(err)
        write_report(report_fd, code, err, explain)
        os._exit(code)
    os._exit(0)


def write_report(fd: int, code: int, err: BaseException, explain=None) -> None:
    text = describe(err)
    if explain is not None:
        text += "\n" + explain()
    try:
        os.write(fd, f"{code} {text}".encode())
    except OSError:
        pass


def _start_error(message: bytes, command: str) -> StartError:
    failed = trampoline.failure(message, command)
    if failed is not None:
        return StartError(failed[1], failed[0])
    code, _, text = message.decode(errors="replace").partition(" ")
    if not code.isdigit():
        return StartError("the container shim died")  # before it said the container runs
    return StartError(text, int(code))


def _run_after_fork(after_fork, pid: int) -> None:
    try:
        after_fork(pid)
    except BaseException:
        os.kill(pid, _signal.SIGKILL)  # a container we could not record must not run
        os.waitpid(pid, 0)
        raise
