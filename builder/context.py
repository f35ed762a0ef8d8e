"""A directory that COPY and ADD read from: the build context (filtered by
.dockerignore) or a finished stage's root filesystem.

Each directory is listed once (one scandir and lstat per entry), and each
regular file is hashed at most once per build, only when a step needs its
digest. A caller may pass a persistent `hash_cache`, keyed by what stat says
(device, inode, size, mtime, ctime), as git's index does; the digest itself is
of the content only, so touching a file does not change any cache key.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Iterator, MutableMapping

from ocispec.digest import Verifier
from ocispec.verified import copy_verified, read_chunks

from .dockerignore import NO_RULES, IgnoreRules
from .errors import BuildError

_MAX_SYMLINK_HOPS = 40


@dataclass(frozen=True)
class Entry:
    path: str            # relative to the tree's root, "/"-separated; "" is the root
    mode: int            # st_mode: type and permission bits
    uid: int
    gid: int
    size: int
    mtime_ns: int
    link: str = ""       # a symlink's target
    rdev: int = 0
    dev: int = 0
    ino: int = 0
    ctime_ns: int = 0

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.mode)

    @property
    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.mode)

    @classmethod
    def from_stat(cls, path: str, info: os.stat_result, link: str = "") -> "Entry":
        return cls(path, info.st_mode, info.st_uid, info.st_gid,
                   info.st_size if stat.S_ISREG(info.st_mode) else 0, info.st_mtime_ns, link,
                   info.st_rdev, info.st_dev, info.st_ino, info.st_ctime_ns)


def open_unchanged(full: str, dev: int, ino: int, size: int) -> int:
    """A read-only descriptor of a regular file, refused if the path now
    names another file than the one listed, or the file changed size."""
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    info = os.fstat(fd)
    if (info.st_dev, info.st_ino, info.st_size) != (dev, ino, size):
        os.close(fd)
        raise BuildError(f"{full} changed while the build was reading it")
    return fd


def _stat_key(entry: Entry) -> tuple:
    return (entry.dev, entry.ino, entry.size, entry.mtime_ns, entry.ctime_ns)


def join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


class SourceTree:
    def __init__(self, root: str | os.PathLike, ignore: IgnoreRules = NO_RULES,
                 hash_cache: MutableMapping[tuple, str] | None = None):
        self.root = os.path.abspath(root)
        self.ignore = ignore
        self.hash_cache = hash_cache if hash_cache is not None else {}
        self.top = self._top()
        self._listings: dict[str, list[Entry]] = {}
        self._by_name: dict[str, dict[str, Entry]] = {}
        self._digests: dict[str, str] = {}

    def _top(self) -> Entry:
        try:
            info = os.stat(self.root)
        except OSError as err:
            raise BuildError(f"cannot read {self.root}: {err.strerror}") from None
        if not stat.S_ISDIR(info.st_mode):
            raise BuildError(f"{self.root} is not a directory")
        return Entry.from_stat("", info)

    # listing

    def children(self, directory: Entry) -> list[Entry]:
        """The entries of a directory that .dockerignore keeps, sorted by name."""
        listed = self._listings.get(directory.path)
        if listed is None:
            listed = [entry for entry in self._scan(directory.path) if self._kept(entry)]
            self._listings[directory.path] = listed
            self._by_name[directory.path] = {entry.name: entry for entry in listed}
        return listed

    def _scan(self, path: str) -> list[Entry]:
        try:
            with os.scandir(os.path.join(self.root, path)) as scanner:
                found = [self._entry(join(path, item.name), item) for item in scanner]
        except OSError as err:
            raise BuildError(f"cannot read {os.path.join(self.root, path)}: {err.strerror}") from None
        return sorted(found, key=lambda entry: entry.name.encode("utf-8", "surrogateescape"))

    def _entry(self, path: str, item: os.DirEntry) -> Entry:
        info = item.stat(follow_symlinks=False)
        link = os.readlink(item.path) if stat.S_ISLNK(info.st_mode) else ""
        return Entry.from_stat(path, info, link)

    def _kept(self, entry: Entry) -> bool:
        if not self.ignore.excluded(entry.path):
            return True
        # an excluded directory stays for what a `!` exception brings back inside it
        return entry.is_dir and self.ignore.has_exceptions and bool(self.children(entry))

    def entry(self, path: str) -> Entry | None:
        """The entry at a clean relative path, without following symlinks."""
        current = self.top
        for name in filter(None, path.split("/")):
            if not current.is_dir:
                return None
            self.children(current)
            current = self._by_name[current.path].get(name)
            if current is None:
                return None
        return current

    def walk(self, top: Entry) -> Iterator[Entry]:
        """`top` and everything beneath it, each directory before its entries."""
        yield top
        if top.is_dir:
            for child in self.children(top):
                yield from self.walk(child)

    def resolve(self, path: str) -> Entry | None:
        """The entry a path names with every symlink followed inside the tree,
        as if the tree were the root of the filesystem."""
        pending = [part for part in path.split("/") if part not in ("", ".")]
        resolved: list[str] = []
        hops = 0
        while pending:
            part = pending.pop(0)
            if part == "..":
                resolved = resolved[:-1]
                continue
            found = self.entry("/".join(resolved + [part]))
            if found is None:
                return None
            if found.is_symlink:
                hops += 1
                if hops > _MAX_SYMLINK_HOPS:
                    raise BuildError(f"{path}: too many levels of symbolic links")
                if found.link.startswith("/"):
                    resolved = []
                pending = [p for p in found.link.split("/") if p not in ("", ".")] + pending
                continue
            resolved.append(part)
        return self.entry("/".join(resolved))

    # content

    def open(self, entry: Entry) -> int:
        return open_unchanged(os.path.join(self.root, entry.path), entry.dev, entry.ino, entry.size)

    def digest(self, entry: Entry) -> str:
        """`sha256:<hex>` of a regular file's content, hashed once."""
        return self.known_digest(entry) or self.learn_digest(entry, self._hash(entry))

    def known_digest(self, entry: Entry) -> str | None:
        """The digest if this build computed it or the hash cache knows the
        file as it is now; None when only reading it can tell."""
        known = self._digests.get(entry.path)
        if known is None:
            known = self.hash_cache.get(_stat_key(entry))
            if known is not None:
                self._digests[entry.path] = known
        return known

    def learn_digest(self, entry: Entry, digest: str) -> str:
        """Record a digest computed while the file streamed somewhere else."""
        self.hash_cache[_stat_key(entry)] = self._digests[entry.path] = digest
        return digest

    def _hash(self, entry: Entry) -> str:
        verifier = Verifier()
        fd = self.open(entry)
        try:
            copy_verified(read_chunks(lambda size: os.read(fd, size)), None, verifier)
        finally:
            os.close(fd)
        return str(verifier.digest())
