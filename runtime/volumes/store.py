"""Named volumes on disk, in docker's layout (`<root>/volumes/<name>/_data`,
paths.py), with a record beside the data. Made, removed and filled under
one lock, so two runs that both create a volume get the same one, and a
volume in use by any container (running or not, as docker) is never removed.
"""
from __future__ import annotations

import fcntl
import os
import re
import time
from contextlib import contextmanager

from .. import fastjson, paths
from ..errors import RuntimeFailure
from ..fs.beneath import remove_tree


class VolumeError(RuntimeFailure):
    pass


class VolumeStore:
    def __init__(self, root: str):
        self.root = root

    @contextmanager
    def locked(self):
        os.makedirs(paths.volumes(self.root), exist_ok=True)
        with open(paths.volumes_lock(self.root), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def check_name(self, name: str) -> str:
        if not re.fullmatch(paths.NAME_PATTERN, name):
            raise VolumeError(f"invalid volume name {name!r}: use [a-zA-Z0-9][a-zA-Z0-9_.-]*")
        return name

    def exists(self, name: str) -> bool:
        return os.path.isfile(paths.volume_record(self.root, self.check_name(name)))

    def create(self, name: str | None = None, labels: dict | None = None) -> tuple[dict, bool]:
        """(the volume's record, whether it was made now); an existing one is kept."""
        with self.locked():
            return self.make(name, labels)

    def make(self, name: str | None = None, labels: dict | None = None) -> tuple[dict, bool]:
        """create(), for a caller that holds the lock."""
        name = self.check_name(name or os.urandom(32).hex())
        if self.exists(name):
            return self.inspect(name), False
        os.makedirs(paths.volume_data(self.root, name), exist_ok=True)
        record = {"Name": name, "Driver": "local", "Mountpoint": paths.volume_data(self.root, name),
                  "CreatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "Labels": dict(labels or {}), "Scope": "local", "Options": {}}
        temp = paths.volume_record(self.root, name) + ".tmp"
        with open(temp, "w") as handle:
            handle.write(fastjson.dumps(record))
        os.replace(temp, paths.volume_record(self.root, name))  # the volume exists from here
        return record, True

    def inspect(self, name: str) -> dict:
        try:
            return fastjson.load_file(paths.volume_record(self.root, self.check_name(name)))
        except (FileNotFoundError, ValueError):
            raise VolumeError(f"no such volume: {name}") from None

    def list(self) -> list[dict]:
        try:
            names = sorted(os.listdir(paths.volumes(self.root)))
        except FileNotFoundError:
            return []
        return [self.inspect(n) for n in names
                if re.fullmatch(paths.NAME_PATTERN, n) and self.exists(n)]

    def users(self, name: str) -> list[str]:
        """The names of the containers whose spec mounts the volume (read
        from their directories: the container wing sits above this one)."""
        data, found = paths.volume_data(self.root, name), []
        try:
            entries = os.listdir(paths.containers(self.root))
        except FileNotFoundError:
            return []
        for entry in entries:
            try:
                spec = fastjson.load_file(paths.container_file(self.root, entry, paths.SPEC))
            except (OSError, ValueError):
                continue
            if any(m.get("source") == data for m in spec.get("mounts") or []):
                found.append(_container_name(self.root, entry))
        return sorted(found)

    def remove(self, name: str, missing_ok: bool = False) -> None:
        with self.locked():
            if not self.exists(name):
                if missing_ok:
                    return
                raise VolumeError(f"no such volume: {name}")
            users = self.users(name)
            if users:
                raise VolumeError(f"volume {name} is in use by container {', '.join(users)}: "
                                  "remove the container first")
            os.unlink(paths.volume_record(self.root, name))  # gone from here on, whatever follows
            remove_tree(paths.volume(self.root, name))


def _container_name(root: str, entry: str) -> str:
    """Its name; its id's start while it has no record yet (being made)."""
    try:
        return fastjson.load_file(paths.container_file(root, entry, paths.STATE))["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return entry[:12]
