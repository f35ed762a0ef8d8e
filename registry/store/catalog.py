"""The repository catalog: a walk of `repositories/` like Distribution's.

A directory holding `_manifests` is a repository; other directories whose
names start with '_' are a repository's internals and are not descended.
"""
from __future__ import annotations

from .. import paths
from .links import Links


async def repository_names(links: Links, marker: str = "_manifests") -> list[str]:
    """Names of the repositories holding `marker` (`_uploads`: those with upload sessions)."""
    found: list[str] = []
    pending = [paths.REPOSITORIES]
    while pending:
        prefix = pending.pop()
        for child in await links.children(prefix):
            base = child.rsplit("/", 1)[-1]
            if base == marker:
                found.append(prefix[len(paths.REPOSITORIES) + 1:])
            elif not base.startswith("_"):
                pending.append(child)
    return sorted(found)
