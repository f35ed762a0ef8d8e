"""Managing containers after start: list, stop, kill, remove, follow logs.

Signals go to the recorded pid only after checking its start time, so a
recycled pid belonging to some other process is never signalled. Runc
containers are signalled through `runc kill`, since the pid we hold is runc's.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

from .cgroups import Cgroups
from .container import Container, ContainerError, ContainerStore, Status
from .shim import LOG_NAME


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
    if container.runtime != "pyreg":
        from .bundle import runtime_binary
        subprocess.run([runtime_binary(container.runtime), "kill", container.id[:32], str(signum)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if signum != signal.SIGKILL:
            return
    try:
        os.kill(container.pid, signum)
    except ProcessLookupError:
        pass


def wait_stopped(store: ContainerStore, container: Container, timeout: float) -> bool:
    """Wait until the process is gone; True if it went within timeout."""
    deadline = time.monotonic() + timeout
    while container.is_alive():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    _settle(store, container)
    return True


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
    if not container.is_alive():
        return
    send_signal(store, container, signal.SIGTERM)
    if not wait_stopped(store, container, timeout):
        send_signal(store, container, signal.SIGKILL)
        wait_stopped(store, container, 10)


def remove(store: ContainerStore, container: Container, force: bool) -> None:
    if container.is_alive():
        if not force:
            raise ContainerError(f"cannot remove running container {container.name}: "
                                 "stop it first or use rm -f")
        send_signal(store, container, signal.SIGKILL)
        wait_stopped(store, container, 10)
    if container.runtime != "pyreg":
        from .rootfs import RootfsPlan
        from .run import _unmount_quietly
        if container.rootfs:
            _unmount_quietly(RootfsPlan.from_json(container.rootfs).target)
    for path in container.cgroups:
        Cgroups((path,), False).remove()
    store.remove(container)


def follow_log(store: ContainerStore, container: Container, follow: bool) -> Iterator[bytes]:
    path = os.path.join(store.path(container.id), LOG_NAME)
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        if not container.detached:
            raise ContainerError(f"container {container.name} ran attached; its output went "
                                 "to the terminal, not to a log") from None
        return
    with handle:
        while True:
            chunk = handle.read(1 << 16)
            if chunk:
                yield chunk
                continue
            if not follow or not container.is_alive():
                rest = handle.read()
                if rest:
                    yield rest
                return
            time.sleep(0.05)


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
