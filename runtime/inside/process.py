"""A container's processes, from a runtime spec, in Python.

`start` unshares the PID namespace for the caller's children and forks once:
the child is PID 1 of the new namespace. (So a process can start only one
container, and cannot make threads afterwards: the kernel refuses both once
its children's PID namespace differs from its own.) It joins the cgroups,
unshares mount, UTS, IPC and network namespaces, builds its filesystem, and
runs the command (command.py), so `echo $$` prints 1 as with docker.

`join` is `pyreg exec`'s: a child that enters a running container's
namespaces (setns) and cgroups, then runs another command the same way.

No host file is ever reachable from inside: the processes are non-dumpable
(their /proc/PID/exe, fd, root... are closed to the container) from before
the fork until the final exec, which goes through a sealed trampoline
(trampoline.py), so the command's /proc/self/exe is never the host's
interpreter. Failures before exec come back as StartError (report.py).
"""
from __future__ import annotations

import os

from ..fs.rootfs import mount_rootfs
from ..kernel import linux
from ..record import REQUIRED, Record
from . import devices, mounts, network, userns
from .command import exec_command, run_init
from .report import StartError, fork_reporting

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
          after_fork=None, explain=None) -> int:
    """Fork the container's PID 1 and return its pid once it has exec'd.
    `after_fork(pid)` runs while the child sets itself up (on the other
    core): the caller's bookkeeping then costs no start-up time."""
    namespaces = {n["type"] for n in spec["linux"]["namespaces"]}
    if userns.rootless():
        userns.enter_user_namespace()
    if "pid" in namespaces:
        linux.unshare(linux.CLONE_NEWPID)  # applies to our children only

    def pid_1(report_fd: int, program_fd: int) -> None:
        _setup(spec, plan, stdio, namespaces, confinement)
        if init:
            run_init(spec["process"], report_fd, program_fd, confinement.seccomp)
        exec_command(spec["process"], report_fd, program_fd, confinement.seccomp)
    return fork_reporting(pid_1, after_fork=after_fork, command=spec["process"]["args"][0],
                          explain=explain)


def _setup(spec: dict, plan, stdio: Stdio, namespaces: set[str], confinement: Confinement) -> None:
    os.setsid()
    enter_groups(confinement)
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
    if stdio.terminal is not None:
        stdio.terminal()
    else:
        attach_stdio(stdio)


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
