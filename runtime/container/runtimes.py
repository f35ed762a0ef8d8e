"""The Runtime protocol: what the container side asks of whatever starts a
container's processes. Two implementations, picked by name once at the edge
(`--runtime`, or a container's record): pyreg's own (pyreg_runtime.py, the
inside/ wing in Python) and runc's or crun's (runc.py, handed the
container's directory as an OCI bundle). They do not inherit from Runtime,
which only says what they provide (tests/runtime/test_runtimes.py holds
them to it): so choosing one loads only it.
"""
from __future__ import annotations

NAMES = ("pyreg", "runc", "crun")


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

    def exec(self, root: str, container, spec: dict, process_section: dict, stdio) -> int:
        """Start a process (process_section: like the spec's `process`) in
        the running container; the pid to wait for, once it has exec'd."""
        raise NotImplementedError

    def clean_up(self, container) -> None:
        """Release what the container held once its process is gone (its
        cgroups, the runtime's own state, mounts). Safe to repeat."""
        raise NotImplementedError


def named(name: str, debug: bool = False) -> Runtime:
    if name == "pyreg":
        from .pyreg_runtime import PyregRuntime
        return PyregRuntime(debug)
    from .runc import RuncRuntime  # subprocess and shutil load only for runc and crun
    return RuncRuntime(name)


def of(container, debug: bool = False) -> Runtime:
    """The runtime that started container."""
    return named(container.runtime, debug)
