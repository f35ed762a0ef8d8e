"""Runtimes by name, parsed once at the edge (`--runtime`, or a container's
record): the rest of the container side holds a Runtime (protocol.py)."""
from __future__ import annotations

from .protocol import Runtime
from .pyreg_runtime import PyregRuntime

NAMES = ("pyreg", "runc", "crun")


def named(name: str, debug: bool = False) -> Runtime:
    if name == "pyreg":
        return PyregRuntime(debug)
    from .runc import RuncRuntime  # subprocess and shutil load only for them
    return RuncRuntime(name)


def of(container, debug: bool = False) -> Runtime:
    """The runtime that started container."""
    return named(container.runtime, debug)
