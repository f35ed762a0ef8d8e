"""What `pyreg run` needs from an image, cached: its reference, run config and
unpacked snapshot directories, keyed by the name the user typed.

A cached entry is valid while index.json is the very file it was resolved
from (same inode, size and mtime: the layout replaces index.json atomically
on every change) and its snapshots still exist. The warm start path then
reads one small JSON file and imports nothing of the OCI machinery.
"""
from __future__ import annotations

import os

from .. import fastjson
from ..record import REQUIRED, Record

CACHE_NAME = "image-cache.json"


class ImageNotFound(Exception):
    pass


class ImageInvalid(Exception):
    pass


class ResolvedImage(Record):
    FIELDS = {"reference": REQUIRED, "config": REQUIRED, "snapshots": REQUIRED}


def _index_identity(root: str) -> list[int] | None:
    try:
        info = os.stat(os.path.join(root, "images", "index.json"))
    except OSError:
        return None
    return [info.st_ino, info.st_size, info.st_mtime_ns]


def _cache_path(root: str) -> str:
    return os.path.join(root, "snapshots", CACHE_NAME)


def _read(root: str) -> dict:
    try:
        data = fastjson.load_file(_cache_path(root))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def lookup(root: str, name: str) -> ResolvedImage | None:
    identity = _index_identity(root)
    data = _read(root)
    entry = data.get("images", {}).get(name) if data.get("index") == identity else None
    if not isinstance(entry, dict):
        return None
    snapshots = entry.get("snapshots") or []
    if not all(isinstance(p, str) and os.path.isdir(p) for p in snapshots):
        return None
    return ResolvedImage(entry.get("reference", name), entry.get("config") or {}, snapshots)


def resolve(root: str, name: str) -> ResolvedImage:
    """The image, from the cache or by resolving and unpacking it."""
    root = os.fspath(root)
    cached = lookup(root, name)
    if cached is not None:
        return cached
    from .resolve import resolve_image
    from .snapshots import ensure_snapshots
    identity = _index_identity(root)
    image = resolve_image(root, name)
    snapshots = [str(p) for p in ensure_snapshots(root, image)]
    resolved = ResolvedImage(image.reference, image.config, snapshots)
    _remember(root, name, identity, resolved)
    return resolved


def _remember(root: str, name: str, identity: list[int] | None, image: ResolvedImage) -> None:
    if identity is None or identity != _index_identity(root):
        return  # the index changed while we resolved: do not cache a maybe-stale answer
    data = _read(root)
    if data.get("index") != identity:
        data = {"index": identity, "images": {}}
    data["images"][name] = image.to_json()
    path = _cache_path(root)
    temp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temp, "w") as handle:
            handle.write(fastjson.dumps(data))
        os.replace(temp, path)
    except OSError:
        pass  # a cache that cannot be written only costs speed
