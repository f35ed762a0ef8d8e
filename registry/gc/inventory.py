"""What storage holds, from one walk of `blobs/` and one of `repositories/`:
every blob with its size and age, and per repository its layer links,
manifest revisions, tags, referrers entries and upload sessions.

Digests come from the keys' own path segments (a link's content is read
only for tags, whose path does not name the digest). A key that does not
parse is not part of the layout and is left alone: garbage collection
deletes only what it understands.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ocispec.digest import Digest
from ocispec.errors import OciError
from storage_backends.base import FileInfo, StorageDriver
from storage_backends.bulk import walk_files

from .. import paths
from . import keys


@dataclass(frozen=True, slots=True)
class Stored:
    """A key, its size, and when it was last written (seconds since the epoch)."""
    key: str
    modified: float
    size: int = 0


@dataclass(frozen=True, slots=True)
class BlobData:
    digest: Digest
    key: str
    size: int
    modified: float


@dataclass
class Repository:
    name: str
    layers: dict[Digest, Stored] = field(default_factory=dict)
    revisions: dict[Digest, Stored] = field(default_factory=dict)
    tags: dict[str, Stored] = field(default_factory=dict)           # tag -> its current link
    tag_index: dict[Digest, list[Stored]] = field(default_factory=dict)
    referrer_entries: dict[Digest, list[Stored]] = field(default_factory=dict)  # by referrer
    uploads: dict[str, list[Stored]] = field(default_factory=dict)  # id -> its files


@dataclass
class Inventory:
    blobs: dict[Digest, BlobData] = field(default_factory=dict)
    repositories: dict[str, Repository] = field(default_factory=dict)
    touched: dict[Digest, float] = field(default_factory=dict)

    def repository(self, name: str) -> Repository:
        if name not in self.repositories:
            self.repositories[name] = Repository(name)
        return self.repositories[name]


def digest_of(algorithm: str, encoded: str) -> Digest | None:
    try:
        return Digest.parse(f"{algorithm}:{encoded}")
    except OciError:
        return None


async def take_inventory(driver: StorageDriver) -> Inventory:
    inventory = Inventory()
    for info in await walk_files(driver, paths.BLOBS):
        _add_blob(inventory, info)
    for info in await walk_files(driver, paths.REPOSITORIES):
        _add_repository_key(inventory, info)
    for info in await walk_files(driver, keys.TOUCHED):
        parts = info.key[len(keys.TOUCHED) + 1:].split("/")
        digest = digest_of(parts[0], parts[-1]) if len(parts) == 3 else None
        if digest is not None:
            inventory.touched[digest] = info.modified
    return inventory


def _add_blob(inventory: Inventory, info: FileInfo) -> None:
    parts = info.key[len(paths.BLOBS) + 1:].split("/")  # <alg>/<2 hex>/<hex>/data
    if len(parts) != 4 or parts[3] != "data" or parts[1] != parts[2][:2]:
        return
    digest = digest_of(parts[0], parts[2])
    if digest is not None:
        inventory.blobs[digest] = BlobData(digest, info.key, info.size, info.modified)


def _add_repository_key(inventory: Inventory, info: FileInfo) -> None:
    relative = info.key[len(paths.REPOSITORIES) + 1:]
    # A name's components never start with '_': the first "/_" ends the name.
    name, separator, rest = relative.partition("/_")
    if not separator or not name:
        return
    stored = Stored(info.key, info.modified, info.size)
    parts = rest.split("/")
    handler = _BY_AREA.get(parts[0])
    if handler is not None:
        handler(inventory.repository(name), parts[1:], stored)


def _layers(repo: Repository, parts: list[str], stored: Stored) -> None:
    if len(parts) == 3 and parts[2] == "link" and (digest := digest_of(parts[0], parts[1])):
        repo.layers[digest] = stored


def _manifests(repo: Repository, parts: list[str], stored: Stored) -> None:
    if len(parts) == 4 and parts[0] == "revisions" and parts[3] == "link":
        if digest := digest_of(parts[1], parts[2]):
            repo.revisions[digest] = stored
    elif len(parts) == 4 and parts[0] == "tags" and parts[2:] == ["current", "link"]:
        repo.tags[parts[1]] = stored
    elif len(parts) == 6 and parts[0] == "tags" and parts[2] == "index" and parts[5] == "link":
        if digest := digest_of(parts[3], parts[4]):
            repo.tag_index.setdefault(digest, []).append(stored)


def _uploads(repo: Repository, parts: list[str], stored: Stored) -> None:
    if len(parts) >= 2:
        repo.uploads.setdefault(parts[0], []).append(stored)


def _referrers(repo: Repository, parts: list[str], stored: Stored) -> None:
    # <subject alg>/<subject hex>/<alg>/<hex>/descriptor; `indexed` is kept
    if len(parts) == 5 and parts[4] == "descriptor" and (digest := digest_of(parts[2], parts[3])):
        repo.referrer_entries.setdefault(digest, []).append(stored)


_BY_AREA = {"layers": _layers, "manifests": _manifests, "uploads": _uploads,
            "referrers": _referrers}
