"""Catalog and tag listings kept sorted in the store, for stores where
walking directories is slow (S3: every level is a ListObjectsV2 round trip,
and Distribution's catalog walks the whole bucket).

One empty object per repository (`_pyreg/index/repositories/<name>`) and
per tag (`_pyreg/index/tags/<name>/<tag>`): S3 lists keys sorted, so a page
of n after `last` is one ListObjectsV2 with StartAfter, whatever the size of
the registry. Replicas need nothing else shared: every write goes to the
store, and the order of writes keeps the index true while they race.

- An entry is written after what it stands for (the revision link, the tag's
  `current` link), so an entry never names something that never existed.
- Removing one deletes the entry and then looks again: if a push on another
  replica brought the repository or tag back meanwhile, the entry is put
  back. (The push's own entry write comes after its link, hence after the
  look, or the look sees the link.)
- A listed tag is checked against its `current` link before it is shown,
  all of a page at once; one left dangling by a crash is dropped and removed.

Data written by Distribution (or before the index) has no entries: the first
listing walks the layout once, fills the index and marks it built. Listings
on a store that may not be written (read-only mode) walk as before.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Awaitable, Callable, Iterable

from storage_backends.base import PathNotFound, StorageDriver

from .. import paths
from .catalog import walk_repositories
from .links import Links

PAGE = 1000  # entries asked of the store at once when a filter drops some
PARALLEL = 16  # store calls in flight when filling or checking


async def _bounded(calls: Iterable[Awaitable], limit: int = PARALLEL) -> list:
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable):
        async with gate:
            return await call
    return await asyncio.gather(*(one(call) for call in calls))


class ListingIndex:
    def __init__(self, driver: StorageDriver, links: Links, writable: bool):
        self.driver, self.links, self.writable = driver, links, writable
        self._building = asyncio.Lock()

    # -- kept up to date by writes -------------------------------------------
    async def repository_added(self, name: str) -> None:
        await self.driver.put_content(paths.catalog_entry(name), b"")

    async def repository_changed(self, name: str) -> None:
        """After a delete in `name`: drop its entry once nothing is left."""
        if not await self._repository_exists(name):
            await self._remove_then_recheck(paths.catalog_entry(name),
                                            lambda: self._repository_exists(name))

    async def tag_added(self, name: str, tag: str) -> None:
        await self.driver.put_content(paths.tag_entry(name, tag), b"")

    async def tag_removed(self, name: str, tag: str) -> None:
        await self._remove_then_recheck(paths.tag_entry(name, tag), lambda: self._tag_exists(name, tag))

    async def _remove_then_recheck(self, entry: str, still_there: Callable[[], Awaitable[bool]]) -> None:
        with contextlib.suppress(PathNotFound):
            await self.driver.delete(entry)
        if await still_there():
            await self.driver.put_content(entry, b"")

    async def _repository_exists(self, name: str) -> bool:
        return await self.driver.exists(paths.manifests_dir(name))

    async def _tag_exists(self, name: str, tag: str) -> bool:
        return await self.links.exists(paths.tag_current_link(name, tag))

    # -- read by listings ------------------------------------------------------
    async def repositories(self, count: int, after: str,
                           shown: Callable[[str], bool] | None) -> list[str] | None:
        """Up to `count` names after `after` in catalog order; None when
        there is no index and none may be built (the caller walks)."""
        if not await self._ready(paths.CATALOG_INDEX_BUILT, self._fill_catalog):
            return None
        found: list[str] = []
        cursor = paths.index_name(after) if after else ""
        while len(found) < count:
            keys = await self.driver.list_after(paths.CATALOG_INDEX, cursor, PAGE if shown else count)
            names = [paths.name_from_index(key.rsplit("/", 1)[-1]) for key in keys]
            found += [name for name in names if shown is None or shown(name)]
            if len(keys) < (PAGE if shown else count):
                break
            cursor = keys[-1].rsplit("/", 1)[-1]
        return found[:count]

    async def tags(self, name: str, after: str, count: int | None) -> list[str] | None:
        """Tags after `after` (at most `count`), each checked to resolve;
        None when there is no index and none may be built."""
        if not await self._ready(paths.tag_index_built(name), lambda: self._fill_tags(name)):
            return None
        found: list[str] = []
        cursor, wanted = after, count or PAGE
        while count is None or len(found) < count:
            keys = await self.driver.list_after(paths.tag_index(name), cursor, wanted)
            tags = [key.rsplit("/", 1)[-1] for key in keys]
            found += await self._resolving(name, tags)
            if len(keys) < wanted:
                break
            cursor = tags[-1]
        return found if count is None else found[:count]

    async def _resolving(self, name: str, tags: list[str]) -> list[str]:
        """The tags whose `current` link exists; a dangling entry is removed."""
        present = await _bounded(self._tag_exists(name, tag) for tag in tags)
        dangling = [tag for tag, here in zip(tags, present) if not here]
        if dangling and self.writable:
            await _bounded(self.tag_removed(name, tag) for tag in dangling)
        return [tag for tag, here in zip(tags, present) if here]

    # -- filling from the layout -----------------------------------------------
    async def _ready(self, marker: str, fill: Callable[[], Awaitable[None]]) -> bool:
        if await self.driver.exists(marker):
            return True
        if not self.writable:
            return False
        async with self._building:  # one walk per process; replicas may each walk once
            if not await self.driver.exists(marker):
                await fill()
                await self.driver.put_content(marker, b"")
        return True

    async def _fill_catalog(self) -> None:
        names = [name async for name in walk_repositories(self.links)]
        await _bounded(self.repository_added(name) for name in names)

    async def _fill_tags(self, name: str) -> None:
        """Every tag directory gets an entry; listing checks each anyway."""
        tags = [key.rsplit("/", 1)[-1] for key in await self.links.children(paths.tags_dir(name))]
        await _bounded(self.tag_added(name, tag) for tag in tags)
