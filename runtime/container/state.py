"""Containers on disk: `<root>/containers/<id>/state.json` (paths.py), with
an explicit lifecycle (created -> running -> stopped) and a liveness check
that never reports a dead process as running: a recorded pid counts only
while /proc/<pid>/stat shows the same start time.
"""
from __future__ import annotations

import os
import time

from .. import fastjson, paths
from ..errors import RuntimeFailure
from ..fs.beneath import remove_tree
from ..kernel.linux import process_start_time
from ..record import REQUIRED, Record

class ContainerError(RuntimeFailure):
    pass


class Status(str):
    """A container's lifecycle state: one of three str instances, compared
    and stored as text. Not an enum.Enum: importing enum costs the start
    path 4 ms when nothing before it has loaded it."""
    __slots__ = ()
    _known: dict = {}

    def __new__(cls, value: str) -> "Status":
        try:
            return cls._known[value]
        except (KeyError, TypeError):
            raise ValueError(f"{value!r} is not a valid Status") from None

    @property
    def value(self) -> str:
        return str(self)

    @classmethod
    def _define(cls, value: str) -> "Status":
        cls._known[value] = status = str.__new__(cls, value)
        return status


Status.CREATED = Status._define("created")
Status.RUNNING = Status._define("running")
Status.STOPPED = Status._define("stopped")


_ALLOWED = {Status.CREATED: {Status.RUNNING, Status.STOPPED},
            # stopped -> running: `pyreg start`, `restart`, a --restart policy
            Status.RUNNING: {Status.STOPPED}, Status.STOPPED: {Status.RUNNING}}


class Container(Record):
    FIELDS = {
        "id": REQUIRED, "name": REQUIRED, "image": REQUIRED, "command": REQUIRED,
        "created": time.time, "status": Status.CREATED, "pid": 0, "pid_start": 0,
        "exit_code": None, "started": 0.0, "finished": 0.0, "runtime": "pyreg",
        "auto_remove": False, "detached": False, "rootfs": dict, "cgroups": list,
        "oom_killed": False, "log_max_size": None, "log_max_files": None,  # None: logfile's defaults
        "init": False,  # --init, kept for `pyreg start`
        "restart_policy": "no", "restart_count": 0,  # --restart (container/restarts.py)
        "id_mapping": None,  # --userns=auto: [host uid, host gid, size] (container/idmap.py)
    }

    def transition(self, to: Status) -> None:
        if to not in _ALLOWED[self.status]:
            raise ContainerError(f"container {self.name} cannot go from {self.status.value} to {to.value}")
        self.status = to

    def mark_running(self, pid: int) -> None:
        self.transition(Status.RUNNING)
        self.pid, self.pid_start, self.started = pid, process_start_time(pid) or 0, time.time()
        self.exit_code = None  # started again: the last run's code no longer holds

    def mark_stopped(self, exit_code: int | None) -> None:
        self.transition(Status.STOPPED)
        self.exit_code, self.finished = exit_code, time.time()

    def is_alive(self) -> bool:
        return (self.status == Status.RUNNING and self.pid > 0
                and process_start_time(self.pid) == self.pid_start)

    def effective_status(self) -> Status:
        """RUNNING only if the process is really there; else STOPPED."""
        if self.status == Status.RUNNING and not self.is_alive():
            return Status.STOPPED
        return self.status

    def to_json(self) -> dict:
        data = dict(self.__dict__)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Container":
        known = {k: v for k, v in data.items() if k in cls.FIELDS}
        known["status"] = Status(known.get("status", "created"))
        return cls(**known)


def _write_replacing(path: str, data: bytes) -> None:
    """Readers see the old or the new state, never half of one. No fsync:
    the state of a container does not outlive a crash of the machine."""
    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "wb") as handle:
        handle.write(data)
    os.replace(temp, path)


class ContainerStore:
    def __init__(self, root: str | os.PathLike):
        self.root = os.fspath(root)
        self.dir = paths.containers(self.root)

    def path(self, container_id: str) -> str:
        if len(container_id) != 64 or not all(c in "0123456789abcdef" for c in container_id):
            raise ContainerError(f"invalid container id {container_id!r}")
        return paths.container(self.root, container_id)

    def create(self, image: str, command: list[str], name: str | None = None, **fields) -> Container:
        container_id = os.urandom(32).hex()
        if name is None:
            # a generated name carries 32 random bits: no lock, no reading every state
            self._make_directory(container_id)
            return Container(container_id, f"pyreg_{container_id[:8]}", image, command, **fields)
        import re
        if not re.fullmatch(paths.NAME_PATTERN, name):
            raise ContainerError(f"invalid container name {name!r}: use [a-zA-Z0-9][a-zA-Z0-9_.-]*")
        import fcntl
        os.makedirs(self.dir, exist_ok=True)
        with open(paths.names_lock(self.root), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # so two runs cannot both take a name
            if any(c.name == name for c in self.list()):
                raise ContainerError(f"the container name {name!r} is already in use")
            os.mkdir(self.path(container_id))
            container = Container(container_id, name, image, command, **fields)
            self.save(container)  # visible at once to a concurrent run wanting the name
        return container

    def _make_directory(self, container_id: str) -> None:
        try:
            os.mkdir(self.path(container_id))
        except FileNotFoundError:  # the first container of this root
            os.makedirs(self.dir, exist_ok=True)
            os.mkdir(self.path(container_id))

    def save(self, container: Container) -> None:
        directory = self.path(container.id)
        if os.path.isdir(directory):
            _write_replacing(os.path.join(directory, paths.STATE),
                             fastjson.dumps(container.to_json()).encode())

    def load(self, container_id: str) -> Container:
        try:
            data = fastjson.load_file(os.path.join(self.path(container_id), paths.STATE))
        except (FileNotFoundError, ValueError):
            raise ContainerError(f"no such container: {container_id}") from None
        return Container.from_json(data)

    def list(self) -> list[Container]:
        if not os.path.isdir(self.dir):
            return []
        found = []
        for entry in os.scandir(self.dir):
            try:
                found.append(self.load(entry.name))
            except ContainerError:
                continue
        return sorted(found, key=lambda c: c.created, reverse=True)

    def find(self, key: str) -> Container:
        """By exact name, full id, or unique id prefix, as docker does."""
        containers = self.list()
        for container in containers:
            if container.name == key or container.id == key:
                return container
        matches = [c for c in containers if key and c.id.startswith(key)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ContainerError(f"multiple containers match {key!r}; use more of the id")
        raise ContainerError(f"no such container: {key}")

    def remove(self, container: Container) -> None:
        path = self.path(container.id)
        try:
            remove_tree(path)
        except FileNotFoundError:
            pass
        except OSError:  # best effort, as before: open up what we can and go on
            import shutil
            shutil.rmtree(path, onerror=_make_writable_and_retry)


def _make_writable_and_retry(function, path: str, _exc_info) -> None:
    """overlayfs leaves work/work with mode 000; as root that does not matter,
    rootless it does. Open the directory up and try once more."""
    try:
        os.chmod(os.path.dirname(path), 0o700)
        os.chmod(path, 0o700)
        if function is os.rmdir or function is os.unlink:
            function(path)
        else:
            import shutil
            shutil.rmtree(path, ignore_errors=True)
    except OSError:
        pass
