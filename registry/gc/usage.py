"""Storage usage per repository, counting a blob shared by many once.

A repository uses the blobs its manifests reach (every revision, as
garbage collection without --delete-untagged keeps them) and the blobs
linked into it. `bytes` is what it uses; `exclusiveBytes` what only it
uses (what deleting it and collecting would free). The total counts each
blob once however many repositories share it, so it is at most what is
stored; `unreferenced` is what a collection could remove.

Measuring walks the whole storage; reporting on any subset of the
repositories from one measurement is cheap, so servers measure once and
report to each caller what it may see (registry/handlers/usage.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ocispec.digest import Digest
from storage_backends.base import StorageDriver

from .freshness import Freshness
from .inventory import Inventory, take_inventory
from .manifest_reader import ManifestReader
from .mark import mark


@dataclass(frozen=True)
class Usage:
    inventory: Inventory
    used: dict[str, set[Digest]]     # per repository, the stored blobs it uses
    users: dict[Digest, int]         # per blob, how many repositories use it

    def names(self) -> list[str]:
        return sorted(self.inventory.repositories)

    def report(self, shown: Callable[[str], bool] | None = None) -> dict:
        """Plain JSON about the repositories `shown` accepts (all when None)."""
        wanted = [name for name in self.names() if shown is None or shown(name)]
        listed = set().union(*(self.used[name] for name in wanted))
        unreferenced = set(self.inventory.blobs) - set(self.users)
        return {"repositories": [self._row(name) for name in wanted],
                "total": {"repositories": len(wanted), "blobs": len(listed), "bytes": self._sizes(listed)},
                "stored": {"blobs": len(self.inventory.blobs), "bytes": self._sizes(self.inventory.blobs)},
                "unreferenced": {"blobs": len(unreferenced), "bytes": self._sizes(unreferenced)}}

    def _row(self, name: str) -> dict:
        repo, used = self.inventory.repositories[name], self.used[name]
        return {"name": name, "tags": len(repo.tags), "manifests": len(repo.revisions),
                "blobs": len(used), "bytes": self._sizes(used),
                "exclusiveBytes": self._sizes(d for d in used if self.users[d] == 1),
                "uploadBytes": sum(s.size for files in repo.uploads.values() for s in files)}

    def _sizes(self, digests: Iterable[Digest]) -> int:
        blobs = self.inventory.blobs
        return sum(blobs[d].size for d in digests if d in blobs)


async def measure_usage(driver: StorageDriver) -> Usage:
    inventory = await take_inventory(driver)
    reader = ManifestReader(driver)
    marks = await mark(inventory, driver, reader, False, Freshness(0.0, 0.0))
    used = {name: {d for d in marks[name].used | set(repo.layers) if d in inventory.blobs}
            for name, repo in inventory.repositories.items()
            if repo.revisions or repo.layers or repo.tags}
    for name in [n for n in inventory.repositories if n not in used]:
        del inventory.repositories[name]  # only uploads or leftovers: not a repository (yet)
    users: dict[Digest, int] = {}
    for digests in used.values():
        for digest in digests:
            users[digest] = users.get(digest, 0) + 1
    return Usage(inventory, used, users)


async def storage_usage(driver: StorageDriver, names: Iterable[str] | None = None) -> dict:
    """Usage of the named repositories (all when None); unknown names are absent."""
    usage = await measure_usage(driver)
    return usage.report(None if names is None else set(names).__contains__)
