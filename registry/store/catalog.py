"""The repository catalog: a lazy walk of `repositories/` like Distribution's.

A directory holding `_manifests` is a repository; other directories whose
names start with '_' are a repository's internals and are not descended.
Names come in Distribution's catalog order, component by component (so
"a/x" before "a-b": '/' sorts before every other character), which is the
order of a depth-first walk of sorted directories. A walk that starts after
`last` skips every directory that can only hold earlier names, without
listing it, and stops when the caller has enough: a page costs in
proportion to its size, not to the registry's.
"""
from __future__ import annotations

import contextlib
from typing import AsyncIterator, Callable

from .. import paths
from .links import Links


def catalog_key(name: str) -> tuple[str, ...]:
    """A name's place in the catalog's order."""
    return tuple(name.split("/"))


async def walk_repositories(links: Links, after: str = "",
                            marker: str = "_manifests") -> AsyncIterator[str]:
    """Names of the repositories holding `marker` (`_uploads`: those with
    upload sessions), in catalog order, each after `after` when given."""
    async for name in _walk(links, paths.REPOSITORIES, (), catalog_key(after) if after else None, marker):
        yield name


async def _walk(links: Links, directory: str, parts: tuple[str, ...],
                after: tuple[str, ...] | None, marker: str) -> AsyncIterator[str]:
    children = await links.children(directory)
    bases = [child.rsplit("/", 1)[-1] for child in children]
    if parts and marker in bases and (after is None or parts > after):
        yield "/".join(parts)
    for child, base in zip(children, bases):
        below = parts + (base,)
        if base.startswith("_") or (after is not None and below < after[:len(below)]):
            continue  # internals, or a subtree whose every name comes before `after`
        async for name in _walk(links, child, below, after, marker):
            yield name


async def first_repositories(links: Links, count: int, after: str = "",
                             shown: Callable[[str], bool] | None = None) -> list[str]:
    """Up to `count` repository names after `after` (only those `shown`
    accepts, when given: the walk goes on past the others)."""
    found: list[str] = []
    if count <= 0:
        return found
    async with contextlib.aclosing(walk_repositories(links, after)) as walk:
        async for name in walk:
            if shown is not None and not shown(name):
                continue
            found.append(name)
            if len(found) >= count:
                break
    return found
