"""The last steps of every process a container gets, whether it starts the
container (process.start) or joins it (process.join): drop to the spec's
user and capabilities, enter the working directory, find the command, and
exec it through the sealed trampoline with the seccomp filter on. With
`--init`, PID 1 first forks the command and stays a reaper that holds only
what the command holds (its user, capabilities, no_new_privs, seccomp
filter, stdio).
"""
from __future__ import annotations

import os
import sys

import _signal

from ..errors import EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_SETUP_FAILED
from ..kernel import linux
from . import capabilities, seccomp, signals, trampoline, userns
from .report import StartError, write_report


def drop_privileges(process: dict) -> None:
    """no_new_privs, the capability bounding set, then groups and ids."""
    user = process.get("user") or {}
    uid, gid = int(user.get("uid", 0)), int(user.get("gid", 0))
    caps = process.get("capabilities") or {}
    if process.get("noNewPrivileges"):
        linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
    capabilities.drop_bounding(capabilities.mask(caps.get("bounding", [])))
    groups = [int(g) for g in user.get("additionalGids") or []]
    if groups or userns.setgroups_allowed():  # a rootless namespace denies setgroups
        os.setgroups(groups)
    try:
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)  # a non-zero uid loses every capability here
    except OSError as err:
        raise StartError(f"cannot switch to uid {uid} gid {gid}: {err.strerror}"
                         + ("" if userns.setgroups_allowed() else " (rootless containers map only root)"))
    if uid == 0:
        capabilities.apply(caps)
    else:  # the uid change emptied the other sets; inheritable stays empty too
        linux.capset(0, 0, 0)
    linux.prctl(linux.PR_CAP_AMBIENT, linux.PR_CAP_AMBIENT_CLEAR_ALL)


def exec_command(process: dict, report_fd: int, program_fd: int, seccomp_program) -> None:
    """As the container's user: enter the working directory, find the
    command, then through the trampoline with the seccomp filter on
    (seccomp_program None: unconfined)."""
    env = dict(item.partition("=")[::2] for item in process.get("env") or [])
    cwd = process.get("cwd") or "/"
    try:
        os.makedirs(cwd, exist_ok=True)  # as docker does, before dropping root
    except OSError as err:
        raise StartError(f"cannot create working directory {cwd!r}: {err.strerror}") from None
    drop_privileges(process)
    try:
        os.chdir(cwd)
    except OSError as err:
        raise StartError(f"cannot enter working directory {cwd!r}: {err.strerror}") from None
    args = process["args"]
    try:
        path = trampoline.find_executable(args[0], env)
    except FileNotFoundError:
        raise StartError(f"exec {args[0]!r}: executable file not found in $PATH",
                         EXIT_NOT_FOUND) from None
    except PermissionError:
        raise StartError(f"exec {args[0]!r}: permission denied", EXIT_NOT_EXECUTABLE) from None
    signals.reset_to_defaults()
    try:  # from here on the report pipe is fd 3 and nothing else is open
        trampoline.exec_through(program_fd, report_fd, path, args, env,
                                lambda: _load_seccomp(seccomp_program))
    except BaseException as err:  # noqa: BLE001
        write_report(trampoline.REPORT_FD, EXIT_SETUP_FAILED, err)
        os._exit(EXIT_SETUP_FAILED)


def _load_seccomp(program) -> None:
    if program is not None:
        seccomp.load(program)


def run_init(process: dict, report_fd: int, program_fd: int, seccomp_program) -> None:
    """PID 1 as a reaper: fork the command, forward signals, reap orphans,
    exit with the command's status. Once the command is forked the reaper
    takes the command's privileges and keeps only the container's stdio."""
    pid = os.fork()
    if pid == 0:
        exec_command(process, report_fd, program_fd, seccomp_program)
    os.closerange(3, 1 << 20)  # the report pipe, a shim's pipes, the trampoline
    drop_privileges(process)
    linux.prctl(linux.PR_SET_DUMPABLE, 0)  # a uid change may have reset it
    for signum in signals.FORWARDED:
        _signal.signal(signum, lambda received, _frame: signals.forward(pid, received))
    _load_seccomp(seccomp_program)
    while True:
        try:
            reaped, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if reaped == pid:
            sys.stdout.flush()
            os._exit(signals.exit_code(status))
