"""Storage usage per repository, counting a blob shared by many once.

A repository uses the blobs its manifests reach (every revision, as
garbage collection without --delete-untagged keeps them) and the blobs
linked into it. `bytes` is what it uses; `exclusiveBytes` what only it
uses (what deleting it and collecting would free). The total counts each
blob once however many repositories share it, so it is at most what is
stored; `unreferenced` is what a collection could remove.

The result is plain JSON for `pyreg du` and the usage endpoint. It walks
the whole storage: callers that serve it often should cache it.
"""
from __future__ import annotations

from typing import Iterable

from ocispec.digest import Digest
from storage_backends.base import StorageDriver

from .freshness import Freshness
from .inventory import Inventory, take_inventory
from .manifest_reader import ManifestReader
from .mark import mark


def _sizes(inventory: Inventory, digests: Iterable[Digest]) -> int:
    return sum(inventory.blobs[d].size for d in digests if d in inventory.blobs)


async def storage_usage(driver: StorageDriver, names: Iterable[str] | None = None) -> dict:
    """Usage of the named repositories (all when None); unknown names are absent."""
    inventory = await take_inventory(driver)
    reader = ManifestReader(driver)
    marks = await mark(inventory, driver, reader, False, Freshness(0.0, 0.0))
    used = {name: {d for d in marks[name].used | set(repo.layers) if d in inventory.blobs}
            for name, repo in inventory.repositories.items()}
    users: dict[Digest, int] = {}
    for digests in used.values():
        for digest in digests:
            users[digest] = users.get(digest, 0) + 1
    wanted = sorted(inventory.repositories) if names is None else sorted(set(names) & set(used))
    rows = []
    for name in wanted:
        repo = inventory.repositories[name]
        rows.append({"name": name, "tags": len(repo.tags), "manifests": len(repo.revisions),
                     "blobs": len(used[name]), "bytes": _sizes(inventory, used[name]),
                     "exclusiveBytes": _sizes(inventory, (d for d in used[name] if users[d] == 1)),
                     "uploadBytes": sum(s.size for files in repo.uploads.values() for s in files)})
    listed = set().union(*(used[name] for name in wanted))
    referenced = set(users)
    unreferenced = set(inventory.blobs) - referenced
    return {"repositories": rows,
            "total": {"repositories": len(rows), "blobs": len(listed), "bytes": _sizes(inventory, listed)},
            "stored": {"blobs": len(inventory.blobs), "bytes": _sizes(inventory, inventory.blobs)},
            "unreferenced": {"blobs": len(unreferenced), "bytes": _sizes(inventory, unreferenced)}}
