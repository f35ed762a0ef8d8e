"""The plan of a collection: what the marks leave unreferenced and older than
the grace period, and in which order it goes.

Deletes run links before data, so a crash at any point leaves no link to
missing bytes: first the `unlink` phase (untagged manifests, parents before
children, then layer links a repository no longer uses), then the `blobs`
phase (a blob's remaining links, then its data), then stale uploads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ocispec.digest import Digest

from .freshness import Freshness
from .inventory import Inventory, Repository, Stored
from .manifest_reader import ManifestReader
from .mark import RepositoryMarks


@dataclass(frozen=True)
class Doomed:
    """One thing a sweep may delete: `links` go first, `data` after them."""
    kind: str                 # "manifest", "layer link", "blob" or "upload"
    name: str                 # a digest, or `repository/upload-id`
    repository: str | None
    links: tuple[str, ...]
    data: tuple[str, ...] = ()
    size: int = 0
    digest: Digest | None = None


@dataclass
class Plan:
    unlink: list[Doomed] = field(default_factory=list)
    blobs: list[Doomed] = field(default_factory=list)
    uploads: list[Doomed] = field(default_factory=list)
    marks: dict[str, RepositoryMarks] = field(default_factory=dict)

    def items(self) -> list[Doomed]:
        return self.unlink + self.blobs + self.uploads


def keys_naming(inventory: Inventory) -> dict[Digest, list[Stored]]:
    """Every repository key that names a digest: links, tag history, referrers entries."""
    found: dict[Digest, list[Stored]] = {}
    for repo in inventory.repositories.values():
        for digest, stored in [*repo.layers.items(), *repo.revisions.items()]:
            found.setdefault(digest, []).append(stored)
        for table in (repo.tag_index, repo.referrer_entries):
            for digest, entries in table.items():
                found.setdefault(digest, []).extend(entries)
    return found


def parents_first(doomed: set[Digest], reader: ManifestReader) -> list[Digest]:
    """Doomed manifests ordered so that an index precedes its children and a
    subject its referrers: a sweep that spares one can then spare what it keeps."""
    edges: dict[Digest, set[Digest]] = {digest: set() for digest in doomed}
    for digest in doomed:
        refs = reader.known(digest)
        if refs is not None:
            edges[digest] |= refs.children & doomed
            if refs.subject in doomed:
                edges[refs.subject].add(digest)
    order: list[Digest] = []
    seen: set[Digest] = set()
    for start in sorted(doomed, key=str):
        stack = [(start, False)]
        while stack:
            digest, expanded = stack.pop()
            if expanded:
                order.append(digest)
            elif digest not in seen:
                seen.add(digest)
                stack.append((digest, True))
                stack.extend((child, False) for child in sorted(edges[digest], key=str) if child not in seen)
    return order[::-1]


def _doomed_manifests(repo: Repository, marks: RepositoryMarks, reader: ManifestReader) -> list[Doomed]:
    doomed = set(repo.revisions) - marks.kept
    items = []
    for digest in parents_first(doomed, reader):
        entries = [repo.revisions[digest], *repo.tag_index.get(digest, ()),
                   *repo.referrer_entries.get(digest, ())]
        items.append(Doomed("manifest", str(digest), repo.name, tuple(e.key for e in entries),
                            digest=digest))
    return items


def _stale_links(repo: Repository, marks: RepositoryMarks, blobs_doomed: set[Digest],
                 freshness: Freshness) -> list[Doomed]:
    items = []
    for digest, link in sorted(repo.layers.items(), key=lambda item: str(item[0])):
        if digest in marks.used or digest in blobs_doomed or freshness.relied_on(digest, [link]):
            continue
        items.append(Doomed("layer link", str(digest), repo.name, (link.key,), digest=digest))
    return items


def _uploads(repo: Repository, freshness: Freshness) -> list[Doomed]:
    items = []
    for upload_id, files in sorted(repo.uploads.items()):
        if not any(freshness.upload_recent(stored.modified) for stored in files):
            items.append(Doomed("upload", f"{repo.name}/{upload_id}", repo.name, (),
                                tuple(stored.key for stored in files), sum(s.size for s in files)))
    return items


def _doomed_blobs(inventory: Inventory, used: set[Digest], freshness: Freshness) -> list[Doomed]:
    naming = keys_naming(inventory)
    items = []
    for digest, blob in sorted(inventory.blobs.items(), key=lambda item: str(item[0])):
        stored = naming.get(digest, [])
        if digest in used or freshness.recent(blob.modified) or freshness.relied_on(digest, stored):
            continue
        items.append(Doomed("blob", str(digest), None, tuple(s.key for s in stored), (blob.key,),
                            blob.size, digest))
    return items


def make_plan(inventory: Inventory, marks: dict[str, RepositoryMarks], reader: ManifestReader,
              freshness: Freshness) -> Plan:
    used = set().union(*(m.used for m in marks.values()))
    plan = Plan(blobs=_doomed_blobs(inventory, used, freshness), marks=marks)
    blobs_doomed = {item.digest for item in plan.blobs}
    repositories = sorted(inventory.repositories.items())
    for name, repo in repositories:
        plan.unlink += _doomed_manifests(repo, marks.get(name, RepositoryMarks()), reader)
    for name, repo in repositories:
        plan.unlink += _stale_links(repo, marks.get(name, RepositoryMarks()), blobs_doomed, freshness)
        plan.uploads += _uploads(repo, freshness)
    return plan
