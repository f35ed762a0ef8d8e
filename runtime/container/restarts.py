"""Starting a container again (prepare_again: its spec and rootfs plan read
back), and `--restart no|on-failure[:N]|always|unless-stopped`, honoured by the
detached supervisor (shim.py), as docker's daemon does: when the container
ends, the policy says whether it starts again, after a delay that doubles
from 100 ms (docker's back-off, capped here at 2 s).

A process can start only one container (process.start unshares its PID
namespace for its children), so each run of a restarting container is
supervised by its own forked child of the shim; a policy of `no`, the
default, keeps the one-process shim.

`pyreg stop` (and `restart`, `rm -f`) leaves a `stop-requested` mark in the
container's directory before its signal, so no policy restarts what a
person stopped; `pyreg start` clears it. `always` and `unless-stopped`
differ in docker only when its daemon starts again: pyreg has no daemon,
so both behave alike here (a stopped container stays stopped until
`pyreg start`).
"""
from __future__ import annotations

import os
import time

from .. import fastjson, paths
from ..errors import exit_code_of
from ..fs.rootfs import RootfsPlan
from ..inside import signals
from ..inside.report import STARTED, write_report
from ..record import Record
from . import networking, runtimes
from .run import Prepared
from .state import Container, ContainerError, ContainerStore, Status

POLICIES = ("no", "on-failure", "always", "unless-stopped")
FIRST_DELAY, LONGEST_DELAY = 0.1, 2.0


class RestartPolicy(Record):
    FIELDS = {"name": "no", "maximum": 0}  # maximum: on-failure's retries, 0: unbounded

    @classmethod
    def parse(cls, text: str) -> "RestartPolicy":
        name, colon, count = text.partition(":")
        if name not in POLICIES:
            raise ContainerError(f"invalid restart policy {text!r}: want no, on-failure[:N], "
                                 "always or unless-stopped")
        if not colon:
            return cls(name)
        if name != "on-failure":
            raise ContainerError(f"invalid restart policy {text!r}: only on-failure takes a count")
        if not count.isdigit():
            raise ContainerError(f"invalid restart policy {text!r}: the count must be a number")
        return cls(name, int(count))

    def text(self) -> str:
        return f"{self.name}:{self.maximum}" if self.maximum else self.name

    def wants_restart(self, exit_code: int | None, restarts_so_far: int) -> bool:
        if self.name in ("always", "unless-stopped"):
            return True
        if self.name == "on-failure":
            return exit_code != 0 and (not self.maximum or restarts_so_far < self.maximum)
        return False


def request_stop(store, container) -> None:
    """Mark the container as stopped by a person, before it is signalled."""
    try:
        with open(paths.container_file(store.root, container.id, paths.STOP_REQUESTED), "w"):
            pass
    except FileNotFoundError:
        pass  # removed meanwhile


def clear_stop_request(store, container) -> None:
    try:
        os.unlink(paths.container_file(store.root, container.id, paths.STOP_REQUESTED))
    except FileNotFoundError:
        pass


def stop_requested(store, container) -> bool:
    return os.path.exists(paths.container_file(store.root, container.id, paths.STOP_REQUESTED))


def prepare_again(store: ContainerStore, container: Container, runtime=None) -> Prepared:
    """What supervise() needs to start container once more."""
    if container.status == Status.RUNNING:  # recorded running, but its process is gone
        container.mark_stopped(container.exit_code)
    if not container.rootfs:
        raise ContainerError(f"container {container.name} has no root filesystem to start")
    spec = fastjson.load_file(paths.container_file(store.root, container.id, paths.SPEC))
    runtime = runtime or runtimes.of(container)
    confinement = runtime.prepare(store.root, container, spec)
    try:  # its bridge attachment ended with its last run: made again before its process starts
        attachment = networking.reconnect(store.root, container, spec)
    except BaseException:
        runtime.clean_up(container)  # the cgroups prepare made
        raise
    return Prepared(store, container, spec, RootfsPlan.from_json(container.rootfs), runtime,
                    confinement, attachment)


def keep_restarting(prepared, run_once, report_fd: int) -> None:
    """The shim's loop: run_once(prepared, on_started) -> exit code, in a
    fresh child each time, until the policy or a stop says no more. The
    first child tells `pyreg run` how its start went over report_fd."""
    policy, delay = RestartPolicy.parse(prepared.container.restart_policy), FIRST_DELAY
    while True:
        began = time.monotonic()
        started = _run_in_child(prepared, run_once, report_fd)
        report_fd = -1
        container = _reload(prepared)
        if (not started or container is None or stop_requested(prepared.store, container)
                or not policy.wants_restart(container.exit_code, container.restart_count)):
            return
        delay = FIRST_DELAY if time.monotonic() - began > 10 else delay
        time.sleep(delay)
        delay = min(delay * 2, LONGEST_DELAY)
        container = _reload(prepared)
        if container is None or stop_requested(prepared.store, container):
            return
        container.restart_count += 1
        prepared.store.save(container)
        prepared = prepare_again(prepared.store, container, prepared.runtime)


def _reload(prepared):
    try:
        return prepared.store.load(prepared.container.id)
    except ContainerError:
        return None  # removed (`rm -f`): nothing to restart


def _run_in_child(prepared, run_once, report_fd: int) -> bool:
    """Whether the container started, in a child that supervises it once."""
    ran_read, ran_write = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(ran_read)
        _child(prepared, run_once, report_fd, ran_write)
    os.close(ran_write)
    if prepared.attachment is not None:  # the child's now: its release must free the host ports
        prepared.attachment.close_sockets()
    if report_fd >= 0:  # the child holds the caller's report pipe now
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, report_fd, inheritable=False)
        os.close(null)
    signals.wait_exit_code(pid)
    with os.fdopen(ran_read, "rb") as ran:
        return ran.read() == b"1"


def _child(prepared, run_once, report_fd: int, ran_write: int) -> None:
    """Never returns."""
    def on_started(_container) -> None:
        os.write(ran_write, b"1")
        if report_fd >= 0:
            os.write(report_fd, STARTED)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, report_fd, inheritable=False)
    try:
        code = run_once(prepared, on_started)
    except BaseException as err:  # noqa: BLE001 - a start failure goes to the caller
        code = exit_code_of(err)
        if report_fd >= 0:
            write_report(report_fd, code, err)
    os._exit(code & 0xFF)
