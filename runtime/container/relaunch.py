"""Starting a container that exists again (`pyreg start`, `restart`, and a
--restart policy): its spec and rootfs plan are read back from its
directory, so it runs exactly as it was made; the upper layer, and so what
the container wrote, is kept, as with docker.
"""
from __future__ import annotations

import os

from . import runtimes
from .restarts import clear_stop_request, prepare_again
from .state import Container, ContainerStore


def start(store: ContainerStore, container: Container, attach: bool, debug: bool = False) -> int:
    """Start a created or stopped container: detached (its shim keeps the
    output and honours its --restart policy; returns 0 once it runs), or
    attached (its output here; returns its exit code). A running one is
    left alone, as docker does."""
    if container.is_alive():
        return 0
    clear_stop_request(store, container)
    prepared = prepare_again(store, container, runtimes.of(container, debug))
    if not attach:
        from .shim import start_detached
        start_detached(prepared, container.init)
        return 0
    if prepared.spec["process"].get("terminal"):
        from .terminal import run_with_terminal
        return run_with_terminal(prepared, False, container.init, keep_log=True)
    from .shim import supervise_logged
    return supervise_logged(prepared, os.open(os.devnull, os.O_RDONLY), container.init,
                            attached=True)
