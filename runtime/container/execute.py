"""`pyreg exec`: run another process inside a running container by joining
its namespaces (setns) and cgroups, with the container's own environment,
user and capabilities from its config.json, overridden by the exec options.
"""
from __future__ import annotations

import json
import os

from ..inside import devices
from ..inside.cgroups import Cgroups
from ..inside.process import (EXIT_SETUP_FAILED, Stdio, StartError, _report, exec_command,
                              fork_confined, read_report)
from ..kernel import linux
from ..record import REQUIRED, Record
from ..spec.build import merge_env
from .run import confinement_for, wait_exit_code
from .state import Container, ContainerError, ContainerStore

# the mount namespace last: after it, host paths such as /proc/<pid> are gone
_ORDER = (("ipc", linux.CLONE_NEWIPC), ("uts", linux.CLONE_NEWUTS), ("net", linux.CLONE_NEWNET),
          ("mnt", linux.CLONE_NEWNS))


class ExecOptions(Record):
    FIELDS = {"args": REQUIRED, "env": (), "workdir": None, "user": None}


def exec_process(store: ContainerStore, container: Container, options: ExecOptions,
                 stdio: Stdio) -> int:
    if container.runtime != "pyreg":
        raise ContainerError(f"exec into {container.runtime} containers: use `{container.runtime} exec`")
    if not container.is_alive():
        raise ContainerError(f"container {container.name} is not running")
    with open(os.path.join(store.path(container.id), "config.json")) as handle:
        spec = json.load(handle)
    process = _process_for(spec["process"], options, container)
    confinement = confinement_for(store.root, spec)
    namespace_fds = _open_namespaces(container.pid)
    if (container.rootfs or {}).get("rootless"):
        user_fd = os.open(f"/proc/{container.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        linux.setns(user_fd, linux.CLONE_NEWUSER)  # first: it grants the rights for the rest
        os.close(user_fd)
    linux.setns(namespace_fds.pop("pid"), linux.CLONE_NEWPID)  # for our child
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid, confinement = fork_confined(confinement)
    if pid == 0:
        os.close(read_end)
        _exec_child(container, namespace_fds, process, stdio, write_end, confinement)
    os.close(write_end)
    for fd in namespace_fds.values():
        os.close(fd)
    read_report(read_end, pid, process["args"][0])
    return wait_exit_code(pid)


def _process_for(process: dict, options: ExecOptions, container: Container) -> dict:
    process = dict(process, args=list(options.args),
                   env=merge_env(process.get("env") or [], options.env, {}))
    if options.workdir:
        process["cwd"] = options.workdir
    if options.user is not None:
        process["user"] = _exec_user(options.user, container)
    return process


def _exec_user(text: str, container: Container) -> dict:
    from ..fs.rootfs import read_image_file
    from ..spec.users import require_mapped, resolve_user
    lowers = list((container.rootfs or {}).get("lowers", []))
    user = resolve_user(text, lambda path: read_image_file(lowers, path))
    require_mapped(user.uid, user.gid, user.additional_gids,
                   rootless=bool((container.rootfs or {}).get("rootless")))
    return {"uid": user.uid, "gid": user.gid, "additionalGids": list(user.additional_gids)}


def _open_namespaces(pid: int) -> dict[str, int]:
    fds = {}
    try:
        for name in ("pid", *(n for n, _ in _ORDER)):
            fds[name] = os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        for fd in fds.values():
            os.close(fd)
        raise ContainerError("the container exited") from None
    return fds


def _exec_child(container: Container, namespace_fds: dict[str, int], process: dict,
                stdio: Stdio, report_fd: int, confinement) -> None:
    try:
        if container.cgroups:
            Cgroups(tuple(container.cgroups), False).join(0)
        if confinement.device_group is not None:
            devices.join(confinement.device_group)
        for name, flag in _ORDER:
            linux.setns(namespace_fds[name], flag)
        for target, fd in enumerate((stdio.stdin, stdio.stdout, stdio.stderr)):
            if fd != target:
                os.dup2(fd, target)
        exec_command(process, report_fd, confinement)
    except BaseException as err:  # noqa: BLE001
        code = err.exit_code if isinstance(err, StartError) else EXIT_SETUP_FAILED
        _report(report_fd, code, err)
        os._exit(code)
