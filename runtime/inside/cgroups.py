"""Resource limits (memory, CPU, PIDs) through cgroups: the unified v2
hierarchy when its controllers are available at /sys/fs/cgroup, else v1's
per-controller directories (this machine's hybrid layout).

A container's groups are `pyreg/<id>` under each hierarchy. The limits come
from the spec's `linux.resources`, so runc and pyreg apply the same values.
"""
from __future__ import annotations

import contextlib
import os
import time

from ..errors import RuntimeFailure
from ..record import REQUIRED, Record

CGROUP_ROOT = "/sys/fs/cgroup"
_V1_CONTROLLERS = ("memory", "cpu", "pids")


class CgroupError(RuntimeFailure):
    pass


def _write(path: str, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


class Cgroups(Record):
    # paths: one directory per hierarchy the container joins
    FIELDS = {"paths": REQUIRED, "unified": REQUIRED}

    @classmethod
    def for_container(cls, container_id: str, root: str = CGROUP_ROOT) -> "Cgroups":
        if os.path.exists(os.path.join(root, "cgroup.controllers")):
            return cls((os.path.join(root, "pyreg", container_id),), True)
        paths = tuple(os.path.join(root, c, "pyreg", container_id) for c in _V1_CONTROLLERS
                      if os.path.isdir(os.path.join(root, c)))
        return cls(paths, False)

    def create(self, resources: dict) -> None:
        """Make the groups and write the limits; raise CgroupError if a limit
        cannot be enforced (silently ignoring --memory would be worse)."""
        try:
            if self.unified:
                self._enable_v2_controllers()
            for path in self.paths:
                os.makedirs(path, exist_ok=True)
            self._apply_v2(resources) if self.unified else self._apply_v1(resources)
        except OSError as err:
            self.remove()
            raise CgroupError(f"cannot set up cgroups: {err}") from None

    def join(self, pid: int = 0) -> None:
        for path in self.paths:
            _write(os.path.join(path, "cgroup.procs"), str(pid))

    def remove(self) -> None:
        for path in self.paths:
            with contextlib.suppress(OSError):
                os.rmdir(path)

    def remove_when_empty(self, attempts: int = 50) -> None:
        """remove(), retried for a while: the namespace's last processes
        may still be exiting (a group with members cannot be removed)."""
        for _ in range(attempts):
            self.remove()
            if not any(os.path.isdir(p) for p in self.paths):
                return
            time.sleep(0.01)

    def pids(self) -> list[int]:
        for path in self.paths:
            with contextlib.suppress(OSError), open(os.path.join(path, "cgroup.procs")) as handle:
                return [int(line) for line in handle if line.strip()]
        return []

    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer fired inside this container."""
        for path in self.paths:
            name = "memory.events" if self.unified else "memory.oom_control"
            with contextlib.suppress(OSError), open(os.path.join(path, name)) as handle:
                for line in handle:
                    key, _, value = line.partition(" ")
                    if key in ("oom_kill",) and int(value or 0) > 0:
                        return True
        return False

    def _file(self, controller: str, name: str) -> str:
        for path in self.paths:
            if self.unified or f"/{controller}/" in path:
                return os.path.join(path, name)
        raise CgroupError(f"the {controller} cgroup controller is not available")

    def _apply_v1(self, resources: dict) -> None:
        memory = resources.get("memory") or {}
        if "limit" in memory:
            _write(self._file("memory", "memory.limit_in_bytes"), str(memory["limit"]))
            swap_file = self._file("memory", "memory.memsw.limit_in_bytes")
            if os.path.exists(swap_file):
                _write(swap_file, str(memory.get("swap", memory["limit"])))
        cpu = resources.get("cpu") or {}
        if "quota" in cpu:
            _write(self._file("cpu", "cpu.cfs_period_us"), str(cpu.get("period", 100000)))
            _write(self._file("cpu", "cpu.cfs_quota_us"), str(cpu["quota"]))
        pids = resources.get("pids") or {}
        if "limit" in pids:
            _write(self._file("pids", "pids.max"), str(pids["limit"]))

    def _apply_v2(self, resources: dict) -> None:
        memory = resources.get("memory") or {}
        if "limit" in memory:
            _write(self._file("memory", "memory.max"), str(memory["limit"]))
            swap = max(0, memory.get("swap", memory["limit"]) - memory["limit"])
            with contextlib.suppress(FileNotFoundError):
                _write(self._file("memory", "memory.swap.max"), str(swap))
        cpu = resources.get("cpu") or {}
        if "quota" in cpu:
            _write(self._file("cpu", "cpu.max"), f"{cpu['quota']} {cpu.get('period', 100000)}")
        pids = resources.get("pids") or {}
        if "limit" in pids:
            _write(self._file("pids", "pids.max"), str(pids["limit"]))

    def _enable_v2_controllers(self) -> None:
        parent = os.path.dirname(self.paths[0])
        os.makedirs(parent, exist_ok=True)
        root = os.path.dirname(parent)
        with open(os.path.join(root, "cgroup.controllers")) as handle:
            available = handle.read().split()
        wanted = [c for c in ("memory", "cpu", "pids") if c in available]
        for directory in (root, parent):
            with contextlib.suppress(OSError):
                _write(os.path.join(directory, "cgroup.subtree_control"),
                       " ".join(f"+{c}" for c in wanted))
