"""A stage's or an image's root filesystem, read from its layers' snapshots
merged as overlayfs merges them, without a mount: nothing to unmount after
an interrupted build, and nothing to mount for a step that only asks.

It is what `COPY --from` reads, and what COPY's destination rules, `--chown`
names and WORKDIR ask of the image. Snapshots are the runtime's (extracted
layers, bottom first): in them a 0:0 character device hides its name in the
layers below, an opaque directory hides everything below it, and a name that
is not a directory hides the directory of the same name below it.
"""
from __future__ import annotations

import os
import stat
from typing import MutableMapping

from runtime.fs.whiteout import is_opaque_directory, is_whiteout

from .context import Entry, SourceTree, join, open_unchanged

_EMPTY_ROOT = Entry("", stat.S_IFDIR | 0o755, 0, 0, 0, 0)
_SMALL_FILE = 1 << 20


class LayeredTree(SourceTree):
    """A SourceTree over snapshot directories (bottom first); no layers is
    an empty root (scratch)."""

    def __init__(self, snapshots: list[str], label: str,
                 hash_cache: MutableMapping[tuple, str] | None = None):
        self.layers = [os.path.abspath(path) for path in snapshots]
        self._contributors: dict[str, list[str]] = {"": self.layers[::-1]}  # top layer first
        self._origin: dict[str, str] = {}        # entry path -> the layer it comes from
        super().__init__(label, hash_cache=hash_cache)
        self.root = label                        # in messages: which image or stage

    def _top(self) -> Entry:
        if not self.layers:
            return _EMPTY_ROOT
        return Entry.from_stat("", os.stat(self.layers[-1]))

    def _layers_of(self, path: str) -> list[str]:
        """The layers whose directory at `path` shows through, top first."""
        known = self._contributors.get(path)
        if known is not None:
            return known
        parent = path.rpartition("/")[0]
        found = []
        for layer in self._layers_of(parent):
            full = os.path.join(layer, path)
            try:
                info = os.lstat(full)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if not stat.S_ISDIR(info.st_mode):
                break                            # a whiteout or a file hides what is below
            found.append(layer)
            if is_opaque_directory(full):
                break
        self._contributors[path] = found
        return found

    def _scan(self, path: str) -> list[Entry]:
        entries: dict[str, Entry] = {}
        hidden: set[str] = set()
        for layer in self._layers_of(path):
            with os.scandir(os.path.join(layer, path)) as scanner:
                for item in scanner:
                    if item.name in entries or item.name in hidden:
                        continue
                    info = item.stat(follow_symlinks=False)
                    if is_whiteout(info):
                        hidden.add(item.name)
                        continue
                    link = os.readlink(item.path) if stat.S_ISLNK(info.st_mode) else ""
                    entry = Entry.from_stat(join(path, item.name), info, link)
                    entries[item.name] = entry
                    self._origin[entry.path] = layer
        return sorted(entries.values(), key=lambda entry: entry.name.encode("utf-8", "surrogateescape"))

    def open(self, entry: Entry) -> int:
        return open_unchanged(os.path.join(self._origin[entry.path], entry.path), entry.dev, entry.ino,
                              entry.size)

    def read_text(self, path: str) -> str | None:
        """A small file's text (symlinks followed inside the tree), or None
        when there is no such regular file."""
        entry = self.resolve(path)
        if entry is None or not entry.is_file:
            return None
        fd = self.open(entry)
        try:
            return os.read(fd, _SMALL_FILE).decode("utf-8", "replace")
        finally:
            os.close(fd)

    def is_directory(self, path: str) -> bool:
        entry = self.resolve(path)
        return entry is not None and entry.is_dir

    def exists(self, path: str) -> bool:
        return self.resolve(path) is not None
