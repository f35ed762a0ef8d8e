"""The image a container runs: from the cache when index.json has not
changed since (the warm path: one small JSON file), else resolved in the
local store and unpacked into snapshots, then remembered.
"""
from __future__ import annotations

import os

from . import cache


def find_image(root: str, name: str, pull=None) -> cache.ResolvedImage:
    """The image named name; `pull()`, if given, fetches it when the local
    store lacks it (then it is looked up once more). ImageNotFound else."""
    root = os.fspath(root)
    cached = cache.lookup(root, name)
    if cached is not None:
        return cached
    # the cold path: the OCI machinery and puller.store load only here
    from .resolve import ImageNotFound, resolve_image
    from .snapshots import ensure_snapshots
    identity = cache.index_identity(root)
    try:
        image = resolve_image(root, name)
    except ImageNotFound:
        if pull is None:
            raise
        pull()
        identity = cache.index_identity(root)
        image = resolve_image(root, name)
    snapshots = [str(p) for p in ensure_snapshots(root, image)]
    resolved = cache.ResolvedImage(image.reference, image.config, snapshots)
    cache.remember(root, name, identity, resolved)
    return resolved
