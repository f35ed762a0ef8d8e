"""Tags: `_manifests/tags/<tag>/current/link` names the digest a tag points at.

Tags move, so they are always read from storage: every worker and replica
then agrees on where a tag points. Where walking the store is slow (S3),
listings come from the listing index, which every write here keeps.
"""
from __future__ import annotations

from ocispec.digest import Digest

from .. import paths
from .links import Links
from .listing_index import ListingIndex


_WALK = object()  # the index cannot answer: list the layout
_OWN_DIRS = {"_layers", "_manifests", "_uploads"}  # not `_referrers`: only pyreg's index


class TagStore:
    def __init__(self, links: Links, index: ListingIndex | None = None):
        self.links, self.index = links, index

    async def resolve(self, name: str, tag: str) -> Digest | None:
        return await self.links.read(paths.tag_current_link(name, tag))

    async def point(self, name: str, tag: str, digest: Digest) -> None:
        # `current` first: a tag is listed once its directory exists, and it
        # must resolve from then on, whatever moment a crash picks.
        # (Distribution writes the index entry first, and can list a tag it
        # cannot resolve.) The index records history only.
        await self.links.write(paths.tag_current_link(name, tag), digest)
        await self.links.write(paths.tag_index_link(name, tag, digest), digest)
        if self.index is not None:
            await self.index.tag_added(name, tag)

    async def remove(self, name: str, tag: str) -> bool:
        if await self.resolve(name, tag) is None:
            return False
        removed = await self.links.remove(paths.tag_dir(name, tag))
        if self.index is not None:
            await self.index.tag_removed(name, tag)
        return removed

    async def names(self, name: str, after: str = "", count: int | None = None) -> list[str] | None:
        """Tags after `after` (at most `count`), sorted; None when the repository
        does not exist. A tag directory without a current link (a crash of
        another registry mid-write, a delete in progress) is skipped: every
        tag listed resolves. Only the tags of the page are checked."""
        if self.index is not None:
            listed = await self._indexed_names(name, after, count)
            if listed is not _WALK:
                return listed
        children = await self.links.children(paths.tags_dir(name))
        if not children and not await self._repository_exists(name):
            return None
        found: list[str] = []
        for key in children:
            tag = key.rsplit("/", 1)[-1]
            if tag <= after or not await self.links.driver.exists(paths.tag_current_link(name, tag)):
                continue
            found.append(tag)
            if count is not None and len(found) >= count:
                break
        return found

    async def _indexed_names(self, name: str, after: str, count: int | None):
        """From the index, one listing a page once it is built; _WALK when
        there is none to read. An unknown repository gets no index (a GET
        writes nothing for names a client makes up) and answers None."""
        if not self.index.seen_built(name) and not await self._repository_exists(name):
            return None
        listed = await self.index.tags(name, after, count)
        if listed is None:
            return _WALK
        if not listed and not await self._repository_exists(name):
            return None
        return listed

    async def _repository_exists(self, name: str) -> bool:
        """Anything of its own (`_layers`, `_manifests`, `_uploads`) left in it.

        Backends prune empty directories, so after its last tag and manifest
        are deleted a repository that still holds blobs has no `_manifests`;
        it exists all the same, with no tags (as under Distribution)."""
        children = await self.links.children(paths.repository(name))
        return any(key.rsplit("/", 1)[-1] in _OWN_DIRS for key in children)

    async def pointing_at(self, name: str, digest: Digest) -> list[str]:
        found = []
        for tag in await self.names(name) or []:
            if await self.resolve(name, tag) == digest:
                found.append(tag)
        return found
