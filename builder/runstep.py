"""A RUN step: its command in a container of pyreg's runtime, on an overlay
of the stage's snapshots (and the mountpoints layer), then its layer from
the upper directory the command left.

The container is prepared here (runtime.container.run.prepare_image) and
supervised in a forked child: the runtime's start unshares a PID namespace
for the caller's children, which a process can do for one container only,
and a build runs many. The child ignores SIGINT: on Ctrl-C (or any failure)
the build kills the container itself with SIGKILL (PID 1 of a namespace
ignores the signals it has no handler for), reaps the child, and removes the
container with its upper directory, so nothing runs, stays mounted (the
overlay lives in the container's own mount namespace) or stays half-written.
"""
from __future__ import annotations

import collections
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from runtime.container import lifecycle, runtimes
from runtime.container.run import HostOptions, Prepared, prepare_image, supervise
from runtime.container.state import ContainerError
from runtime.errors import describe, exit_code_of
from runtime.image.cache import ResolvedImage
from runtime.inside.process import Stdio
from runtime.runspec.build import RunOptions

from .errors import BuildError

TAIL_LINES = 10          # of a failing command's output, in the error message
_STOP_SECONDS = 10       # for the supervisor to end once its container is killed
_POLL_SECONDS = 0.01


@dataclass(frozen=True)
class RunRequest:
    argv: list[str]
    env: list[str]
    workdir: str
    user: str
    network: str                 # none | host
    label: str                   # what the container record calls the image


@dataclass(frozen=True)
class RunOutcome:
    code: int
    tail: list[str]              # the last lines of the output
    upper: str                   # the overlay's upper directory (gone after the block)


@contextlib.contextmanager
def run_command(root: str, snapshots: list[str], request: RunRequest,
                output: BinaryIO | None) -> Iterator[RunOutcome]:
    """Run the command; the block reads its upper directory, then the
    container and everything it had are removed."""
    image = ResolvedImage(request.label, {"WorkingDir": request.workdir}, snapshots)
    options = RunOptions(command=tuple(request.argv), entrypoint=(), env=tuple(request.env),
                         workdir=request.workdir, user=request.user or None, network=request.network)
    prepared = prepare_image(root, image, options, runtimes.named("pyreg"), HostOptions(seed_etc=False))
    try:
        if prepared.plan.kind != "overlay":
            raise BuildError("RUN needs overlayfs, which this host (or the number of layers) does not allow")
        code, tail = _supervise_in_child(prepared, output)
        yield RunOutcome(code, tail, prepared.plan.upper)
    finally:
        with _interrupts_held():
            _remove(prepared)


def _supervise_in_child(prepared: Prepared, output: BinaryIO | None) -> tuple[int, list[str]]:
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        _supervisor(prepared, read_end, write_end)
    os.close(write_end)
    try:
        tail = _relay(read_end, output)
        return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]), tail
    except BaseException:
        with _interrupts_held():
            _stop(prepared, child)
        raise
    finally:
        os.close(read_end)


def _supervisor(prepared: Prepared, read_end: int, write_end: int) -> None:
    """The forked child: supervise the container, exit with its code."""
    code = 125
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the build stops the step
        os.close(read_end)
        null = os.open(os.devnull, os.O_RDONLY)
        code = supervise(prepared, Stdio(null, write_end, write_end))
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.write(write_end, f"pyreg: {describe(err)}\n".encode())
        code = exit_code_of(err)
    finally:
        os._exit(code)


def _relay(read_end: int, output: BinaryIO | None) -> list[str]:
    """Copy the output on until every writer closed it; the last lines."""
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    partial = b""
    while chunk := os.read(read_end, 1 << 16):
        if output is not None:
            output.write(chunk)
            output.flush()
        *lines, partial = (partial + chunk).split(b"\n")
        tail.extend(line.decode("utf-8", "replace").rstrip("\r") for line in lines)
        partial = partial[-4096:]
    if partial:
        tail.append(partial.decode("utf-8", "replace"))
    return list(tail)


def _stop(prepared: Prepared, child: int) -> None:
    """Kill the container (once it has a pid) until its supervisor ends."""
    deadline = time.monotonic() + _STOP_SECONDS
    while os.waitpid(child, os.WNOHANG)[0] == 0:
        with contextlib.suppress(ContainerError):
            container = prepared.store.load(prepared.container.id)
            if container.is_alive():
                os.kill(container.pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return
        time.sleep(_POLL_SECONDS)


def _remove(prepared: Prepared) -> None:
    try:
        container = prepared.store.load(prepared.container.id)
    except ContainerError:
        container = prepared.container
    lifecycle.remove(prepared.store, container, force=True)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Clean-up that a second Ctrl-C must not cut short: SIGINT waits."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
