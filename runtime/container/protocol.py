"""The Runtime protocol: what the container side asks of whatever starts a
container's processes. Two implementations: pyreg's own (pyreg_runtime.py,
the inside/ wing in Python) and runc's or crun's (runc.py, handed the
container's directory as an OCI bundle). runtimes.py picks one by name.
"""
from __future__ import annotations


class Runtime:
    name = ""

    def prepare(self, root: str, container, spec: dict):
        """Host-side resources made before the start, once the spec is
        written; what `start` needs of them (None: nothing). May record
        what must be cleaned up in the container (its cgroups)."""
        raise NotImplementedError

    def start(self, prepared, stdio, init: bool, on_fork) -> int:
        """Start the container; the pid to wait for, once it runs.
        `on_fork(pid)` records the pid as soon as there is one."""
        raise NotImplementedError

    def signal(self, container, signum: int) -> None:
        """Deliver signum to the container's process."""
        raise NotImplementedError

    def exec(self, root: str, container, spec: dict, process: dict, stdio) -> int:
        """Start process (the spec's `process` section) in the running
        container; the pid to wait for, once it has exec'd."""
        raise NotImplementedError

    def clean_up(self, container) -> None:
        """Release what the container held once its process is gone (its
        cgroups, the runtime's own state, mounts). Safe to repeat."""
        raise NotImplementedError
