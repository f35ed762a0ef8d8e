"""runc or crun as the runtime: pyreg mounts the container's rootfs and
hands its directory (config.json + rootfs/) to `runc run` as the bundle;
runc forwards our signals to the container and exits with its exit code.
Everything after the start goes through the runtime too (`runc kill`,
`runc delete --force`): the pid pyreg holds is `runc run`'s, and killing
that alone would leave runc's state and cgroups behind.
"""
from __future__ import annotations

import os
import shutil
import subprocess

from ..fs.rootfs import mount_rootfs
from ..inside.report import StartError
from ..kernel import linux
from .state import ContainerError


class RuncRuntime:  # the Runtime protocol (runtimes.py)
    def __init__(self, name: str):
        self.name = name  # "runc" or "crun": the same command line

    def prepare(self, root: str, container, spec: dict) -> None:
        return None  # the runtime makes its own cgroups, device rules and seccomp filter

    def start(self, prepared, stdio, init: bool, on_fork) -> int:
        binary = runtime_binary(self.name)
        mount_rootfs(prepared.plan)
        try:
            child = subprocess.Popen(
                [binary, "run", "--bundle", prepared.directory, runtime_id(prepared.container.id)],
                stdin=stdio.stdin, stdout=stdio.stdout, stderr=stdio.stderr,
                start_new_session=stdio.terminal is None and stdio.stdin != 0)
        except OSError as err:
            raise StartError(f"cannot start {self.name}: {err}") from None
        on_fork(child.pid)
        return child.pid

    def signal(self, container, signum: int) -> None:
        subprocess.run([runtime_binary(self.name), "kill", runtime_id(container.id), str(signum)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def exec(self, root: str, container, spec: dict, process_section: dict, stdio) -> int:
        raise ContainerError(f"exec into {self.name} containers: use `{self.name} exec`")

    def clean_up(self, container) -> None:
        """The runtime's own state and cgroups, then our rootfs mount."""
        self._delete(container.id)
        target = (container.rootfs or {}).get("target")
        if target:
            try:
                linux.umount(target, linux.MNT_DETACH)
            except OSError:
                pass

    def _delete(self, container_id: str) -> None:
        """`runc delete --force`: kill what is left, remove the runtime's
        state and the cgroups it made. Quiet when there is nothing to delete."""
        if not self._state_exists(container_id):
            return
        try:
            binary = runtime_binary(self.name)
        except StartError:
            return
        subprocess.run([binary, "delete", "--force", runtime_id(container_id)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def _state_exists(self, container_id: str) -> bool:
        """Whether the runtime still holds state for the container (runc and
        crun keep it in /run/<name>/<id> for root); unsure means yes."""
        if os.geteuid() != 0:
            return True
        return os.path.isdir(os.path.join("/run", self.name, runtime_id(container_id)))


def runtime_binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        raise StartError(f"runtime {name!r} is not installed")
    return path


def runtime_id(container_id: str) -> str:
    """The name runc knows the container by (it limits their length)."""
    return container_id[:32]
