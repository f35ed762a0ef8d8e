"""A container's processes, from a runtime spec, in Python.

`start` unshares the PID namespace for the caller's children and forks once:
the child is PID 1 of the new namespace. (So a process can start only one
container, and cannot make threads afterwards: the kernel refuses both once
its children's PID namespace differs from its own.) It joins the cgroups,
unshares mount, UTS, IPC and network namespaces, builds its filesystem, and
runs the command (exec_command, below), so `echo $$` prints 1 as with docker.

`join` is `pyreg exec`'s: a child that enters a running container's
namespaces (setns) and cgroups, then runs another command the same way.

Both end in `exec_command`: drop to the spec's user and capabilities
(privileges.py), enter the working directory, find the command, and exec
it through the sealed trampoline with the seccomp filter on. With
`--init`, PID 1 first forks the command and stays a reaper that holds
only what the command holds (its user, capabilities, no_new_privs,
seccomp filter, stdio).

No host file is ever reachable from inside: the processes are non-dumpable
(their /proc/PID/exe, fd, root... are closed to the container) from before
the fork until the final exec, which goes through a sealed trampoline
(trampoline.py), so the command's /proc/self/exe is never the host's
interpreter. Failures before exec come back as StartError (report.py).
"""
from __future__ import annotations

import os
import sys

import _signal

from ..errors import EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_SETUP_FAILED
from ..fs.rootfs import mount_rootfs
from ..kernel import linux
from ..record import REQUIRED, Record
from . import devices, mounts, namespaces, privileges, signals, trampoline
from .report import StartError, fork_reporting, write_report

_NAMESPACE_FLAGS = {"mount": linux.CLONE_NEWNS, "uts": linux.CLONE_NEWUTS,
                    "ipc": linux.CLONE_NEWIPC, "network": linux.CLONE_NEWNET,
                    "cgroup": linux.CLONE_NEWCGROUP}
# what `join` enters, the mount namespace last: after it, host paths such as /proc/<pid> are gone
_JOINED = (("ipc", linux.CLONE_NEWIPC), ("uts", linux.CLONE_NEWUTS), ("net", linux.CLONE_NEWNET),
           ("mnt", linux.CLONE_NEWNS))


class Stdio(Record):
    # terminal: a function the container's PID 1 calls to take a new pty
    # as its stdio (console.attach_terminal, bound to its channel), or None
    FIELDS = {"stdin": REQUIRED, "stdout": REQUIRED, "stderr": REQUIRED, "terminal": None}


class Confinement(Record):
    """What a container's processes are held in besides namespaces: its
    resource cgroups (None: no limits), the device cgroup to join, and the
    seccomp program to load last (None: unconfined)."""
    FIELDS = {"cgroups": None, "device_group": None, "seccomp": None}


def start(spec: dict, plan, stdio: Stdio, confinement: Confinement, init: bool = False,
          after_fork=None, explain=None, before_fork=None) -> int:
    """Fork the container's PID 1 and return its pid once it has exec'd.
    `after_fork(pid)` runs while the child sets itself up (on the other
    core): the caller's bookkeeping then costs no start-up time.
    `before_fork(spec)` runs in our user namespace (rootless) while we can
    still fork: a rootless network's helper starts there."""
    kinds = {n["type"] for n in spec["linux"]["namespaces"]}
    if namespaces.rootless():
        namespaces.enter_user_namespace()
    elif "user" in kinds:  # --userns=auto: the pid namespace below then belongs to it
        namespaces.enter_mapped_user_namespace(*_id_maps(spec["linux"]))
    if before_fork is not None:
        before_fork(spec)
    if "pid" in kinds:
        linux.unshare(linux.CLONE_NEWPID)  # applies to our children only

    def pid_1(report_fd: int, program_fd: int) -> None:
        _setup(spec, plan, stdio, kinds, confinement)
        if init:
            run_init(spec["process"], report_fd, program_fd, confinement.seccomp)
        exec_command(spec["process"], report_fd, program_fd, confinement.seccomp)
    return fork_reporting(pid_1, after_fork=after_fork, command=spec["process"]["args"][0],
                          explain=explain)


def _id_maps(linux_section: dict) -> tuple[str, str]:
    """The spec's uidMappings and gidMappings as uid_map and gid_map lines."""
    return tuple("".join(f"{m['containerID']} {m['hostID']} {m['size']}\n"
                         for m in linux_section.get(key) or [])
                 for key in ("uidMappings", "gidMappings"))


def _setup(spec: dict, plan, stdio: Stdio, kinds: set[str], confinement: Confinement) -> None:
    """kinds: the namespaces the spec asks for."""
    os.setsid()
    enter_groups(confinement)  # as the host's root, whose cgroup files these are
    flags = 0
    for kind in kinds:
        flags |= _NAMESPACE_FLAGS.get(kind, 0)
    joined = _joined_network(spec)
    if joined is not None:  # a bridge network's namespace, made and wired before the start
        linux.setns(joined, linux.CLONE_NEWNET)
        os.close(joined)
        flags &= ~linux.CLONE_NEWNET
    linux.unshare(flags)
    if "uts" in kinds and spec.get("hostname"):
        linux.sethostname(spec["hostname"])
    if "network" in kinds:
        namespaces.bring_up("lo")
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    mount_rootfs(plan)
    rootfs = plan.target
    if "user" in kinds:  # only --userns=auto, run by root, asks for one (runspec/build.py)
        # Still the host's root: reach the rootfs and the bind sources now,
        # through directories the container's root may not traverse (a
        # 0700 --root); then become the container's root, who makes files.
        spec, rootfs = mounts.pin_paths(spec, rootfs)
        namespaces.become_namespace_root()
    mounts.setup_filesystem(spec, rootfs)
    if stdio.terminal is not None:
        stdio.terminal()
    else:
        attach_stdio(stdio)


def _joined_network(spec: dict) -> int | None:
    """An fd of the network namespace the spec names by path, or None."""
    for namespace in spec["linux"]["namespaces"]:
        if namespace["type"] == "network" and namespace.get("path"):
            return os.open(namespace["path"], os.O_RDONLY | os.O_CLOEXEC)
    return None


def enter_groups(confinement: Confinement) -> None:
    if confinement.cgroups is not None:
        confinement.cgroups.join(0)
    if confinement.device_group is not None:
        devices.join(confinement.device_group)


def attach_stdio(stdio: Stdio) -> None:
    for target, fd in enumerate((stdio.stdin, stdio.stdout, stdio.stderr)):
        if fd != target:
            os.dup2(fd, target)


def join(pid: int, rootless: bool, process: dict, stdio: Stdio, confinement: Confinement,
         explain=None) -> int:
    """Start process inside the running container whose PID 1 is pid; its
    pid once it has exec'd."""
    namespace_fds = _open_namespaces(pid, rootless)
    try:
        if rootless:  # first: it grants the rights for the rest
            linux.setns(namespace_fds["user"], linux.CLONE_NEWUSER)
        linux.setns(namespace_fds["pid"], linux.CLONE_NEWPID)  # for our child

        def joined(report_fd: int, program_fd: int) -> None:
            enter_groups(confinement)
            for name, flag in _JOINED:
                linux.setns(namespace_fds[name], flag)
            if stdio.terminal is not None:  # exec -t: a pty of the container's devpts
                os.setsid()
                stdio.terminal()
            else:
                attach_stdio(stdio)
            exec_command(process, report_fd, program_fd, confinement.seccomp)
        return fork_reporting(joined, command=process["args"][0], explain=explain)
    finally:
        for fd in namespace_fds.values():
            os.close(fd)


def _open_namespaces(pid: int, rootless: bool) -> dict[str, int]:
    fds = {}
    try:
        for name in ("user",) * rootless + ("pid", *(n for n, _ in _JOINED)):
            fds[name] = os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        for fd in fds.values():
            os.close(fd)
        raise StartError("the container exited") from None
    return fds


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
    privileges.drop_privileges(process)
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
        privileges.load_seccomp(program)


def run_init(process: dict, report_fd: int, program_fd: int, seccomp_program) -> None:
    """PID 1 as a reaper: fork the command, forward signals, reap orphans,
    exit with the command's status. Once the command is forked the reaper
    takes the command's privileges and keeps only the container's stdio."""
    pid = os.fork()
    if pid == 0:
        exec_command(process, report_fd, program_fd, seccomp_program)
    os.closerange(3, 1 << 20)  # the report pipe, a shim's pipes, the trampoline
    privileges.drop_privileges(process)
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
