"""What `pyreg serve` prepares for the operations pieces before any worker
starts, in the parent process, importing nothing heavy (the socket is
bound before aiohttp is loaded):

  - tracing's packages, checked installed, and the debug listener's address, checked free, so a taken one fails with
    one line instead of every worker dying on it;
  - with several workers and metrics on, a fresh directory for
    prometheus_client's multiprocess files (PROMETHEUS_MULTIPROC_DIR, read
    when prometheus_client is imported, so set before), removed at the end.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator

from .config import HttpSettings, RegistryConfig
from .config.operations import MULTIPROC_VARIABLE



@contextlib.contextmanager
def serving_operations(config: RegistryConfig, workers: int) -> Iterator[None]:
    if config.ops.tracing:
        from .tracing import check_available
        check_available()
    if config.debug.addr is not None:
        from .sockets import bind_socket  # raises ServeError naming the address
        bind_socket(HttpSettings(addr=config.debug.addr), listen=False).close()
    if workers <= 1 or not config.ops.wants_metrics(config.debug):
        yield
        return
    directory = tempfile.mkdtemp(prefix="pyreg-metrics-")
    saved = os.environ.get(MULTIPROC_VARIABLE)
    os.environ[MULTIPROC_VARIABLE] = directory
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if saved is None:
            os.environ.pop(MULTIPROC_VARIABLE, None)
        else:
            os.environ[MULTIPROC_VARIABLE] = saved


def forget_worker(pid: int) -> None:
    """A worker exited: what it had in progress is no longer (its counts stay)."""
    if os.environ.get(MULTIPROC_VARIABLE):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid)
