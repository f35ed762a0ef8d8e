"""Managing containers after start: list, stop, kill, remove, follow logs.

Signals go to the container only after checking the recorded pid's start
time, so a recycled pid belonging to some other process is never
signalled; the container's runtime delivers them (runc and crun through
`runc kill`) and cleans up after it.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator

from .. import paths
from . import networking, runtimes
from .logfile import log_files
from .restarts import request_stop
from .state import Container, ContainerError, ContainerStore, Status


def parse_signal(text: str) -> int:
    name = text.upper()
    if name.isdigit():
        number = int(name)
        if number in {s.value for s in signal.Signals}:
            return number
    else:
        name = name if name.startswith("SIG") else f"SIG{name}"
        if name in signal.Signals.__members__:
            return signal.Signals[name].value
    raise ContainerError(f"invalid signal {text!r}")


def send_signal(store: ContainerStore, container: Container, signum: int) -> None:
    if not container.is_alive():
        raise ContainerError(f"container {container.name} is not running")
    runtimes.of(container).signal(container, signum)


def wait_stopped(store: ContainerStore, container: Container, timeout: float) -> bool:
    """Wait until the process is gone; True if it went within timeout."""
    deadline = time.monotonic() + timeout
    while container.is_alive():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    _settle(store, container)
    return True


def wait_exit(store: ContainerStore, container: Container) -> int | None:
    """Block until the container has ended (a created one: until it has
    run); its exit code, None if unknown or it was removed meanwhile."""
    while True:
        try:
            current = store.load(container.id)
        except ContainerError:
            return None
        if current.status == Status.STOPPED:
            return current.exit_code
        if current.status == Status.RUNNING and not current.is_alive():
            _settle(store, current)
        else:
            time.sleep(0.05)


def _settle(store: ContainerStore, container: Container) -> None:
    """Give the supervisor a moment to record the exit code; if it died too,
    record the stop ourselves so the state is never 'running'."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            if store.load(container.id).status == Status.STOPPED:
                return
        except ContainerError:
            return  # removed (--rm)
        time.sleep(0.02)
    try:
        current = store.load(container.id)
    except ContainerError:
        return
    if current.status != Status.STOPPED:
        current.mark_stopped(None)
        store.save(current)


def stop(store: ContainerStore, container: Container, timeout: float) -> None:
    request_stop(store, container)  # before the signal: no --restart policy brings it back
    if not container.is_alive():
        return
    send_signal(store, container, signal.SIGTERM)
    if not wait_stopped(store, container, timeout):
        _kill(store, container)


def _kill(store: ContainerStore, container: Container) -> None:
    send_signal(store, container, signal.SIGKILL)
    if not wait_stopped(store, container, 10):
        try:  # the runtime did not act: end the process pyreg started (runc's `run`)
            os.kill(container.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_stopped(store, container, 10)


def remove(store: ContainerStore, container: Container, force: bool) -> None:
    if container.is_alive():
        if not force:
            raise ContainerError(f"cannot remove running container {container.name}: "
                                 "stop it first or use rm -f")
        request_stop(store, container)
        _kill(store, container)
    runtimes.of(container).clean_up(container)
    networking.forget(store.root, container.id)  # what a supervisor killed by kill -9 left
    store.remove(container)


def follow_log(store: ContainerStore, container: Container, follow: bool) -> Iterator[bytes]:
    """The kept output, oldest rotated file first; with follow, then what
    is appended (across rotations) until the container ends."""
    path = paths.container_file(store.root, container.id, paths.LOG)
    files = log_files(path)
    if not files:
        if not container.detached and container.status != Status.CREATED:
            raise ContainerError(f"container {container.name} kept no log") from None
        return
    for name in files[:-1]:
        with open(name, "rb") as handle:
            yield from iter(lambda: handle.read(1 << 16), b"")
    handle = open(files[-1], "rb")
    try:
        while True:
            chunk = handle.read(1 << 16)
            if chunk:
                yield chunk
            elif _rotated(handle, path):
                handle.close()
                handle = open(path, "rb")
            elif not follow or not container.is_alive():
                yield handle.read()
                return
            else:
                time.sleep(0.05)
    finally:
        handle.close()


def _rotated(handle, path: str) -> bool:
    try:
        return os.stat(path).st_ino != os.fstat(handle.fileno()).st_ino
    except FileNotFoundError:
        return False


def status_text(container: Container) -> str:
    status = container.effective_status()
    if status == Status.RUNNING:
        return f"Up {_ago(container.started)}"
    if status == Status.CREATED:
        return "Created"
    code = "?" if container.exit_code is None else container.exit_code
    return f"Exited ({code}) {_ago(container.finished or container.created)} ago"


def _ago(moment: float) -> str:
    seconds = max(0, int(time.time() - moment))
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} seconds"


def write_out(chunk: bytes) -> None:
    sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()
