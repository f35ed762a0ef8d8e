"""Catalog and tag listings kept sorted in the store, for stores where
walking directories is slow (S3: every level is a ListObjectsV2 round trip,
and Distribution's catalog walks the whole bucket).

One empty object per repository (`_pyreg/index/repositories/<name>!/entry`)
and per tag (`_pyreg/index/tags/<name>/<tag>!/entry`; see registry.paths for
the spelling that keeps their order): S3 lists keys sorted, so a page
of n after `last` is one ListObjectsV2 with StartAfter, whatever the size of
the registry. Replicas need nothing else shared: every write goes to the
store, and the order of writes keeps the index true while they race.

- An entry is written after what it stands for (the revision link, the tag's
  `current` link), so an entry never names something that never existed.
- Removing one deletes the entry and then looks again: if a push on another
  replica brought the repository or tag back meanwhile, the entry is put
  back. (The push's own entry write comes after its link, hence after the
  look, or the look sees the link.) So whatever exists is listed.
- Entries are not checked one by one when listed: on S3 that is a GET per
  tag, 0.8 s a page on moto. What that leaves: a tag pushed and deleted at
  the same moment on two replicas may stay listed and answer 404.

Tag pages are kept in memory and used again while the repository's index
version (one small object, rewritten with a fresh value after each change
to its tags, and read before the listing a page is made from) is the one
the page was made under: a repeated page costs one GET, not a
ListObjectsV2 (slower, dearer, and on moto as slow as the bucket is big).
A change is visible to every replica once the write that made it returned.

Data written by Distribution (or before the index) has no entries: the first
listing lists the layout once, flat (a thousand keys per request, not a
request per directory), fills the index and marks it built; a tag is
indexed only if its `current` link is there. Listings
on a store that may not be written (read-only mode) walk as before.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Awaitable, Callable, Iterable

from storage_backends.base import PathNotFound, StorageDriver
from storage_backends.bulk import walk_files

from .. import paths
from .links import Links
from .lru import ByteLRU

PAGE = 1000  # entries asked of the store at once when a filter drops some
PARALLEL = 16  # store calls in flight when filling
REMEMBERED = 100_000  # built markers kept in memory
TAG_PAGES_BYTES, TAG_PAGE_LARGEST = 16 << 20, 1 << 20  # tag pages kept in memory


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
        self._built: set[str] = set()  # markers seen: never removed, so not asked again
        # (name, after, count) -> (index version, tags)
        self._tag_pages: ByteLRU[tuple, tuple[bytes, list[str]]] = ByteLRU(
            TAG_PAGES_BYTES, TAG_PAGE_LARGEST, lambda page: 64 + sum(len(tag) + 8 for tag in page[1]))

    # -- kept up to date by writes -------------------------------------------
    async def repository_added(self, name: str) -> None:
        await self.driver.put_content(paths.catalog_entry(name), b"")

    async def repository_changed(self, name: str) -> None:
        """After a delete in `name`: drop its entry once nothing is left."""
        if not await self._repository_exists(name):
            await self._remove_then_recheck(paths.catalog_entry(name),
                                            lambda: self._repository_exists(name))

    async def repository_removed(self, name: str) -> None:
        """After `name` was deleted whole: its tags' entries, then its own
        (each put back if a replica pushed it again meanwhile)."""
        with contextlib.suppress(PathNotFound):
            await self.driver.delete(paths.tag_index(name))
        for key in await self.links.children(paths.tags_dir(name)):
            tag = key.rsplit("/", 1)[-1]
            if await self._tag_exists(name, tag):
                await self.driver.put_content(paths.tag_entry(name, tag), b"")
        await self._tags_changed(name)
        await self.repository_changed(name)

    async def tag_added(self, name: str, tag: str) -> None:
        await self.driver.put_content(paths.tag_entry(name, tag), b"")
        await self._tags_changed(name)

    async def tag_removed(self, name: str, tag: str) -> None:
        await self._remove_then_recheck(paths.tag_entry(name, tag), lambda: self._tag_exists(name, tag))
        await self._tags_changed(name)

    async def _tags_changed(self, name: str) -> None:
        """After the entries: a page read before this write may miss them.
        Never deleted, so a version is never seen twice (no A-B-A)."""
        await self.driver.put_content(paths.tag_index_version(name), os.urandom(16).hex().encode())

    async def _tags_version(self, name: str) -> bytes:
        try:
            return await self.driver.get_content(paths.tag_index_version(name))
        except PathNotFound:
            return b""

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
        cursor = paths.index_child(after) if after else ""
        while len(found) < count:
            keys = await self.driver.list_after(paths.CATALOG_INDEX, cursor, PAGE if shown else count)
            names = [paths.from_index_child(key.rsplit("/", 1)[-1]) for key in keys]
            found += [name for name in names if shown is None or shown(name)]
            if len(keys) < (PAGE if shown else count):
                break
            cursor = keys[-1].rsplit("/", 1)[-1]
        return found[:count]

    async def tags(self, name: str, after: str, count: int | None) -> list[str] | None:
        """Tags after `after` (at most `count`), sorted; None when there is
        no index and none may be built."""
        if not await self._ready(paths.tag_index_built(name), lambda: self._fill_tags(name)):
            return None
        # read before the listing: a page is never older than the version it is kept under
        version = await self._tags_version(name)
        kept = self._tag_pages.take((name, after, count))
        if kept is None or kept[0] != version:
            kept = (version, await self._list_tags(name, after, count))
        self._tag_pages.put((name, after, count), kept)
        return list(kept[1])

    async def _list_tags(self, name: str, after: str, count: int | None) -> list[str]:
        found: list[str] = []
        wanted = count or PAGE
        while count is None or len(found) < count:
            cursor = found[-1] if found else after
            keys = await self.driver.list_after(paths.tag_index(name), paths.index_child(cursor) if cursor else "",
                                                wanted)
            found += [paths.from_index_child(key.rsplit("/", 1)[-1]) for key in keys]
            if len(keys) < wanted:
                break
        return found if count is None else found[:count]

    def seen_built(self, name: str) -> bool:
        """The tag index of `name` is known built, without asking the store."""
        return paths.tag_index_built(name) in self._built

    # -- filling from the layout -----------------------------------------------
    async def _ready(self, marker: str, fill: Callable[[], Awaitable[None]]) -> bool:
        if marker in self._built or await self.driver.exists(marker):
            self._remember(marker)
            return True
        if not self.writable:
            return False
        async with self._building:  # one walk per process; replicas may each walk once
            if not await self.driver.exists(marker):
                await fill()
                await self.driver.put_content(marker, b"")
        self._remember(marker)
        return True

    def _remember(self, marker: str) -> None:
        if len(self._built) >= REMEMBERED:
            self._built.clear()
        self._built.add(marker)

    async def _fill_catalog(self) -> None:
        """Every repository holding a `_manifests` key (a name's components
        never start with '_', so the first such component ends the name)."""
        start = len(paths.REPOSITORIES) + 1
        names = {info.key[start:info.key.index("/_manifests/")]
                 for info in await walk_files(self.driver, paths.REPOSITORIES)
                 if "/_manifests/" in info.key}
        await _bounded(self.repository_added(name) for name in names)

    async def _fill_tags(self, name: str) -> None:
        """Every tag whose `current` link is there (Distribution writes it
        last: a tag it was still writing is left out)."""
        start, end = len(paths.tags_dir(name)) + 1, "/current/link"
        tags = [info.key[start:-len(end)] for info in await walk_files(self.driver, paths.tags_dir(name))
                if info.key.endswith(end) and "/" not in info.key[start:-len(end)]]
        await _bounded(self.driver.put_content(paths.tag_entry(name, tag), b"") for tag in tags)
        await self._tags_changed(name)
