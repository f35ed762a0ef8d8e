"""The mountpoints a RUN step's container needs, in a lower layer of their
own on top of the stage's layers, as docker's "init" layer holds them: the
runtime then finds /proc, /sys, /dev, /etc/hosts, /etc/hostname and
/etc/resolv.conf in place and creates none of them in the upper directory,
which holds the command's own changes only. Their parent directories copy
the stage's (mode, owner, times), so the merged view shows the stage's.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from typing import Iterator

from runtime import paths
from runtime.container.run import etc_contents
from runtime.runspec.build import default_mounts

from .context import Entry
from .view import LayeredTree


def destinations() -> tuple[list[str], list[str]]:
    """(directories, files) the runtime mounts on, outermost only: what is
    under /dev is made in /dev's own tmpfs."""
    mounted = [mount["destination"] for mount in default_mounts()]
    directories = [path for path in mounted if not any(path.startswith(other + "/") for other in mounted)]
    files = [path for path in etc_contents("h", "none") if not path.startswith(tuple(directories))]
    return directories, files


@contextlib.contextmanager
def mountpoints_layer(root: str, view: LayeredTree) -> Iterator[str]:
    """A snapshot-like directory beside the snapshots, removed after the block."""
    layer = paths.step_mountpoints(root, secrets.token_hex(6))
    os.mkdir(layer, 0o755)
    try:
        _fill(layer, view)
        yield layer
    finally:
        shutil.rmtree(layer, ignore_errors=True)


def _fill(layer: str, view: LayeredTree) -> None:
    directories, files = destinations()
    made: dict[str, Entry | None] = {}   # layer path -> what the stage has there
    for path in directories + files:
        parents = _ancestors(path)
        if any(view.entry(parent) is not None and not view.entry(parent).is_dir for parent in parents):
            continue  # a parent the stage has as a symlink or a file: the runtime decides
        for directory in parents + ([path.lstrip("/")] if path in directories else []):
            if directory not in made:
                entry = view.entry(directory)
                made[directory] = entry if entry is not None and entry.is_dir else None
                os.mkdir(os.path.join(layer, directory), 0o755)
        if path in files:
            os.close(os.open(os.path.join(layer, path.lstrip("/")),
                             os.O_CREAT | os.O_WRONLY | os.O_EXCL | os.O_NOFOLLOW, 0o644))
    for directory, entry in sorted(made.items(), reverse=True):  # children first: then times stay
        if entry is not None:
            _copy_attributes(os.path.join(layer, directory), entry)


def _ancestors(path: str) -> list[str]:
    parts = [part for part in path.split("/") if part][:-1]
    return ["/".join(parts[:index]) for index in range(1, len(parts) + 1)]


def _copy_attributes(target: str, entry: Entry) -> None:
    if os.geteuid() == 0:
        os.chown(target, entry.uid, entry.gid)
    os.chmod(target, stat.S_IMODE(entry.mode))
    os.utime(target, ns=(entry.mtime_ns, entry.mtime_ns))
