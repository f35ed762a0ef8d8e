"""Deleting a whole repository: its tags, manifest revisions, layer links,
referrers index and upload sessions. The blobs stay in the global store,
where other repositories may share them; garbage collection frees the
ones nothing references any more (registry/gc)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import paths
from .links import Links
from .manifests import ManifestStore
from .tags import TagStore


@dataclass(frozen=True)
class DeletedRepository:
    name: str
    tags: int
    manifests: int


async def delete_repository(links: Links, tags: TagStore, manifests: ManifestStore,
                            name: str) -> DeletedRepository | None:
    """None when `name` holds no tag, manifest or layer. Area by area in
    `paths.repository_areas` order, so a crash part way leaves no tag
    naming a missing revision; deleting again finishes the job."""
    tag_names = await tags.names(name) or []
    revisions = await manifests.revisions(name)
    if not tag_names and not revisions and not await links.children(paths.repository_areas(name)[2]):
        return None
    for area in paths.repository_areas(name):
        await links.remove(area)
    return DeletedRepository(name, len(tag_names), len(revisions))
