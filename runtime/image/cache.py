"""The image a container runs: its reference, run config and unpacked
snapshot directories, from a cache keyed by the name the user typed
(`<root>/snapshots/image-cache.json`), else resolved in the local store,
unpacked into snapshots, and remembered (find_image).

A cached entry is valid while index.json is the very file it was resolved
from (same inode, size and mtime: the layout replaces index.json atomically
on every change) and its snapshots still exist. The warm start path then
reads one small JSON file and imports nothing of the OCI machinery.
"""
from __future__ import annotations

import os

from .. import fastjson, paths
from ..record import REQUIRED, Record


class ResolvedImage(Record):
    FIELDS = {"reference": REQUIRED, "config": REQUIRED, "snapshots": REQUIRED}


def find_image(root: str, name: str, pull=None) -> ResolvedImage:
    """The image named name; `pull()`, if given, fetches it when the local
    store lacks it (then it is looked up once more). ImageNotFound else."""
    root = os.fspath(root)
    cached = lookup(root, name)
    if cached is not None:
        return cached
    # the cold path: the OCI machinery and puller.store load only here
    from .resolve import ImageNotFound, resolve_image
    from .snapshots import ensure_snapshots
    identity = index_identity(root)
    try:
        image = resolve_image(root, name)
    except ImageNotFound:
        if pull is None:
            raise
        pull()
        identity = index_identity(root)
        image = resolve_image(root, name)
    snapshots = [str(p) for p in ensure_snapshots(root, image)]
    resolved = ResolvedImage(image.reference, image.config, snapshots)
    remember(root, name, identity, resolved)
    return resolved


def index_identity(root: str) -> list[int] | None:
    """What tells one index.json from its replacement; None if there is none."""
    try:
        info = os.stat(paths.image_index(root))
    except OSError:
        return None
    return [info.st_ino, info.st_size, info.st_mtime_ns]


def _read(root: str) -> dict:
    try:
        data = fastjson.load_file(paths.image_cache(root))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def lookup(root: str, name: str) -> ResolvedImage | None:
    identity = index_identity(root)
    data = _read(root)
    entry = data.get("images", {}).get(name) if data.get("index") == identity else None
    if not isinstance(entry, dict):
        return None
    snapshots = entry.get("snapshots") or []
    if not all(isinstance(p, str) and os.path.isdir(p) for p in snapshots):
        return None
    return ResolvedImage(entry.get("reference", name), entry.get("config") or {}, snapshots)


def remember(root: str, name: str, identity: list[int] | None, image: ResolvedImage) -> None:
    """Cache image under name, if index.json is still the one it was
    resolved from (identity)."""
    if identity is None or identity != index_identity(root):
        return  # the index changed while we resolved: do not cache a maybe-stale answer
    data = _read(root)
    if data.get("index") != identity:
        data = {"index": identity, "images": {}}
    data["images"][name] = image.to_json()
    path = paths.image_cache(root)
    temp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temp, "w") as handle:
            handle.write(fastjson.dumps(data))
        os.replace(temp, path)
    except OSError:
        pass  # a cache that cannot be written only costs speed
