"""Starting a container's first process from a runtime spec, in Python.

`start` unshares the PID namespace for the caller's children and forks once:
the child is PID 1 of the new namespace. (So a process can start only one
container, and cannot make threads afterwards: the kernel refuses both once
its children's PID namespace differs from its own.) It joins the cgroups, unshares mount,
UTS, IPC and network namespaces, builds its filesystem, drops privileges and
execs the command, so `echo $$` prints 1 as with docker. With `init=True`
PID 1 stays a small Python reaper that forwards signals, and the command
runs as PID 2 (docker's --init); the reaper holds only what the command
holds (its user, capabilities, no_new_privs, seccomp filter, stdio).

No host file is ever reachable from inside: the processes are non-dumpable
(their /proc/PID/exe, fd, root... are closed to the container) from before
the fork until the final exec, which goes through a sealed trampoline
(trampoline.py), so the command's /proc/self/exe is never the host's
interpreter.

Failures before exec travel back over a close-on-exec pipe: the parent reads
EOF when exec succeeded, or one line saying what went wrong.
"""
from __future__ import annotations

import os
import sys

# _signal, not signal: the wrapper module builds IntEnums at import (~1 ms).
# After pivot_root the host's standard library is out of reach, so nothing
# may be imported lazily from then on (os.execvpe would import warnings).
import _signal

from ..fs.rootfs import mount_rootfs
from ..kernel import linux
from ..record import REQUIRED, Record
from . import capabilities, devices, mounts, network, seccomp, trampoline, userns

EXIT_SETUP_FAILED = 125
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
_NAMESPACE_FLAGS = {"mount": linux.CLONE_NEWNS, "uts": linux.CLONE_NEWUTS,
                    "ipc": linux.CLONE_NEWIPC, "network": linux.CLONE_NEWNET,
                    "cgroup": linux.CLONE_NEWCGROUP}


class StartError(Exception):
    def __init__(self, message: str, exit_code: int = EXIT_SETUP_FAILED):
        super().__init__(message)
        self.exit_code = exit_code


class Stdio(Record):
    # terminal: a unix socket to send the container's pty master over
    FIELDS = {"stdin": REQUIRED, "stdout": REQUIRED, "stderr": REQUIRED, "terminal": None}


class Confinement(Record):
    """What a container's processes are held in besides namespaces:
    the device cgroup to join, the seccomp program to load last (None:
    unconfined), the sealed trampoline's fd (made by `fork_confined`)."""
    FIELDS = {"device_group": None, "seccomp": None, "program_fd": -1}


def fork_confined(confinement: Confinement) -> tuple[int, Confinement]:
    """fork(), the child non-dumpable from its first instruction on: it is
    visible in the container's PID namespace before it execs."""
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
    return pid, confinement.replace(program_fd=program_fd)


def read_report(read_end: int, pid: int, command: str, after_fork=None) -> None:
    """Wait for the child's exec; raise StartError with its report."""
    with os.fdopen(read_end, "rb") as report:
        if after_fork is not None:
            _run_after_fork(after_fork, pid)
        message = report.read()
    if message:
        os.waitpid(pid, 0)
        failed = trampoline.failure(message, command)
        if failed is not None:
            raise StartError(failed[1], failed[0])
        code, _, text = message.decode(errors="replace").partition(" ")
        raise StartError(text, int(code))


def start(spec: dict, plan, cgroups, stdio: Stdio, init: bool = False, after_fork=None,
          confinement: Confinement = Confinement()) -> int:
    """Fork the container's PID 1 and return its pid once it has exec'd.
    `after_fork(pid)` runs while the child sets itself up (on the other
    core): the caller's bookkeeping then costs no start-up time."""
    namespaces = {n["type"] for n in spec["linux"]["namespaces"]}
    if userns.rootless():
        userns.enter_user_namespace()
    if "pid" in namespaces:
        linux.unshare(linux.CLONE_NEWPID)  # applies to our children only
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid, confinement = fork_confined(confinement)
    if pid == 0:
        os.close(read_end)
        _child(spec, plan, cgroups, stdio, init, write_end, namespaces, confinement)
    os.close(write_end)
    read_report(read_end, pid, spec["process"]["args"][0], after_fork)
    return pid


def _run_after_fork(after_fork, pid: int) -> None:
    try:
        after_fork(pid)
    except BaseException:
        os.kill(pid, _signal.SIGKILL)  # a container we could not record must not run
        os.waitpid(pid, 0)
        raise


def _child(spec, plan, cgroups, stdio, init, report_fd, namespaces, confinement) -> None:
    """Never returns: execs the command or exits with a setup error code."""
    try:
        _setup(spec, plan, cgroups, stdio, namespaces, confinement)
        if init:
            _run_init(spec, report_fd, confinement)
        exec_command(spec["process"], report_fd, confinement)
    except BaseException as err:  # noqa: BLE001 - everything must reach the parent
        code = err.exit_code if isinstance(err, StartError) else EXIT_SETUP_FAILED
        _report(report_fd, code, err)
        os._exit(code)


def _report(fd: int, code: int, err: BaseException) -> None:
    text = linux.describe(err)
    if os.environ.get("PYREG_DEBUG"):
        try:
            import traceback  # fails once the container's root is ours
            text += "\n" + traceback.format_exc()
        except ImportError:
            pass
    try:
        os.write(fd, f"{code} {text}".encode())
    except OSError:
        pass


def _setup(spec: dict, plan, cgroups, stdio: Stdio, namespaces: set[str], confinement) -> None:
    os.setsid()
    attach_terminal = None
    if stdio.terminal is not None:  # import now: after pivot_root the host's modules are gone
        from .console import attach_terminal
    if cgroups is not None:
        cgroups.join(0)
    if confinement.device_group is not None:
        devices.join(confinement.device_group)
    flags = 0
    for name in namespaces:
        flags |= _NAMESPACE_FLAGS.get(name, 0)
    linux.unshare(flags)
    if "uts" in namespaces and spec.get("hostname"):
        linux.sethostname(spec["hostname"])
    if "network" in namespaces:
        network.bring_up("lo")
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    mount_rootfs(plan)
    mounts.setup_filesystem(spec, plan.target)
    _attach_stdio(stdio, attach_terminal)


def _attach_stdio(stdio: Stdio, attach_terminal) -> None:
    if attach_terminal is not None:
        attach_terminal(stdio.terminal)
        return
    for target, fd in enumerate((stdio.stdin, stdio.stdout, stdio.stderr)):
        if fd != target:
            os.dup2(fd, target)


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


def exec_command(process: dict, report_fd: int, confinement: Confinement) -> None:
    """As the container's user: enter the working directory, find the
    command, then through the trampoline with the seccomp filter on."""
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
    _reset_signals()
    try:  # from here on the report pipe is fd 3 and nothing else is open
        trampoline.exec_through(confinement.program_fd, report_fd, path, args, env,
                                lambda: _load_seccomp(confinement))
    except BaseException as err:  # noqa: BLE001
        _report(trampoline.REPORT_FD, EXIT_SETUP_FAILED, err)
        os._exit(EXIT_SETUP_FAILED)


def _load_seccomp(confinement: Confinement) -> None:
    if confinement.seccomp is not None:
        seccomp.load(confinement.seccomp)


def _reset_signals() -> None:
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


def _run_init(spec: dict, report_fd: int, confinement: Confinement) -> None:
    """PID 1 as a reaper: fork the command, forward signals, reap orphans,
    exit with the command's status. Once the command is forked the reaper
    takes the command's privileges and keeps only the container's stdio."""
    pid = os.fork()
    if pid == 0:
        exec_command(spec["process"], report_fd, confinement)
    os.closerange(3, 1 << 20)  # the report pipe, a shim's pipes, the trampoline
    drop_privileges(spec["process"])
    linux.prctl(linux.PR_SET_DUMPABLE, 0)  # a uid change may have reset it

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    for signum in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP, _signal.SIGQUIT,
                   _signal.SIGUSR1, _signal.SIGUSR2, _signal.SIGWINCH):
        _signal.signal(signum, forward)
    _load_seccomp(confinement)
    while True:
        try:
            reaped, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if reaped == pid:
            code = os.waitstatus_to_exitcode(status)
            sys.stdout.flush()
            os._exit(code if code >= 0 else 128 - code)
