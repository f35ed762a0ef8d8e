"""The context's file digests, kept on disk between builds, as git's index
keeps what it knows of the work tree: keyed by what lstat says of a file
(device, inode, size, mtime and ctime in nanoseconds), so a file nothing has
touched is not read again, and any write (which moves ctime) reads it anew.
The digest itself is of the content only; cache keys never see the stat.

    <store root>/build-cache/context-hashes.json
        {"version": 1, "files": {"<dev>:<ino>:<size>:<mtime_ns>:<ctime_ns>": "sha256:<hex>"}}

Losing the file (or a concurrent build replacing it) costs only re-reading.
The files the last build saw are kept first, and at most MAX_ENTRIES.
"""
from __future__ import annotations

import json
from pathlib import Path

from ocispec.layout import write_atomic

VERSION = 1
MAX_ENTRIES = 200_000


class ContextHashes(dict):
    """A dict (stat tuple -> digest) that SourceTree fills; save() keeps it."""

    def __init__(self, store_root: str | Path):
        super().__init__()
        self.path = Path(store_root) / "build-cache" / "context-hashes.json"
        self.previous: dict[tuple, str] = {}
        try:
            data = json.loads(self.path.read_bytes())
            if data.get("version") == VERSION:
                self.previous = {tuple(int(n) for n in key.split(":")): digest
                                 for key, digest in data["files"].items()}
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            pass  # nothing known: files are read once more

    def get(self, key: tuple, default=None):
        """What this build learnt, else what the last one knew (now kept)."""
        if key not in self and key in self.previous:
            self[key] = self.previous[key]
        return super().get(key, default)

    def save(self) -> None:
        kept = dict(self)
        for key, digest in self.previous.items():
            if len(kept) >= MAX_ENTRIES:
                break
            kept.setdefault(key, digest)
        files = {":".join(str(n) for n in key): digest for key, digest in kept.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps({"version": VERSION, "files": files}).encode())
