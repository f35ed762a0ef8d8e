"""Marking: what each repository keeps alive, from its tags and manifest
revisions through index children and referrers (`subject`).

Without `delete_untagged` every revision is a root, as in Distribution.
With it the roots are the tags' targets and the revisions linked (or relied on)
within the grace period (an index's children are pushed before the index; a referrer
may come before its subject is tagged); a kept manifest keeps its children
and every manifest whose subject it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ocispec.digest import Digest
from ocispec.errors import OciError
from storage_backends.base import StorageDriver
from storage_backends.bulk import read_many

from .freshness import Freshness
from .inventory import Inventory, Repository
from .manifest_reader import ManifestReader


@dataclass
class RepositoryMarks:
    tags: dict[str, Digest] = field(default_factory=dict)  # read only with delete_untagged
    kept: set[Digest] = field(default_factory=set)  # manifests kept
    used: set[Digest] = field(default_factory=set)  # kept manifests and the blobs they name


def link_target(raw: bytes | None) -> Digest | None:
    """The digest a link file names; None when absent or garbled."""
    try:
        return Digest.parse(raw.decode("ascii").strip()) if raw is not None else None
    except (OciError, UnicodeDecodeError):
        return None


def referrers_by_subject(repo: Repository, reader: ManifestReader) -> dict[Digest, list[Digest]]:
    found: dict[Digest, list[Digest]] = {}
    for digest in repo.revisions:
        refs = reader.known(digest)
        if refs is not None and refs.subject is not None:
            found.setdefault(refs.subject, []).append(digest)
    return found


async def closure(roots: set[Digest], reader: ManifestReader,
                  referrers: dict[Digest, list[Digest]]) -> set[Digest]:
    """The roots, their children and referrers, transitively."""
    kept: set[Digest] = set()
    pending = list(roots)
    while pending:
        digest = pending.pop()
        if digest in kept:
            continue
        kept.add(digest)
        refs = await reader.get(digest)
        if refs is not None:
            pending.extend(refs.children)
        pending.extend(referrers.get(digest, ()))
    return kept


def used_by(kept: set[Digest], reader: ManifestReader) -> set[Digest]:
    used = set(kept)
    for digest in kept:
        refs = reader.known(digest)
        if refs is not None:
            used |= refs.blobs
    return used


async def mark_repository(repo: Repository, tags: dict[str, Digest], reader: ManifestReader,
                          delete_untagged: bool, freshness: Freshness) -> RepositoryMarks:
    marks = RepositoryMarks(tags=tags)
    roots = set(marks.tags.values())
    if delete_untagged:
        roots |= {digest for digest, link in repo.revisions.items()
                  if freshness.relied_on(digest, [link])}
    else:
        roots |= set(repo.revisions)
    marks.kept = await closure(roots, reader, referrers_by_subject(repo, reader))
    marks.used = used_by(marks.kept, reader)
    return marks


async def mark(inventory: Inventory, driver: StorageDriver, reader: ManifestReader,
               delete_untagged: bool, freshness: Freshness) -> dict[str, RepositoryMarks]:
    """Marks of every repository (tags and manifests are read once, many at a time)."""
    await reader.prefetch(digest for repo in inventory.repositories.values() for digest in repo.revisions)
    # Without delete_untagged every revision is a root: tags add nothing, and
    # reading them would cost a request each.
    tag_keys = {(name, tag): stored.key for name, repo in inventory.repositories.items()
                for tag, stored in repo.tags.items()} if delete_untagged else {}
    contents = await read_many(driver, tag_keys.values())
    tags: dict[str, dict[str, Digest]] = {name: {} for name in inventory.repositories}
    for (name, tag), key in tag_keys.items():
        if (digest := link_target(contents[key])) is not None:
            tags[name][tag] = digest
    return {name: await mark_repository(repo, tags[name], reader, delete_untagged, freshness)
            for name, repo in sorted(inventory.repositories.items())}
