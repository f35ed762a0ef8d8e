"""The layer cache: step keys, and the index that maps a key to what the step
produced.

A step's key is a pure function of its parent's key, the instruction after
substitution (every field but its place in the file), the build args it can
see, the options that change what it does (the network a RUN gets), and for
COPY/ADD what lands in the image: each item's target path, type, mode,
owner, and content digest or link target. mtimes are not in it, so
`touch`ing or checking out a context again changes no key. A stage's first
key is that of its base: the image's manifest digest and platform, `scratch`,
or the last key of the stage it builds on.

The index lives in the local store, beside the OCI layout so that skopeo and
podman, which read `<root>/images`, never see it:

    <store root>/build-cache/
        steps/<2 hex>/<64 hex>.json   one record per step key:
            {"key", "created", "layer": null | {"mediaType", "digest", "size", "diffID"}}

`created` is kept so that a cached rebuild writes the same history and config
as the first build, hence the same image digest. A record's layer blob lives
in the layout's blobs/; a record whose blob is gone reads as a miss. The
store's garbage collection (`pyreg rmi`) keeps every blob a record names:
puller.store reads these files itself (build_cache_blobs), so the format
above is a contract between the two packages.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from ocispec.digest import Digest
from ocispec.errors import OciError
from ocispec.layout import OciLayout, write_atomic
from puller.store import build_cache_blobs, build_cache_steps

from . import instructions as ins
from .context import SourceTree
from .sources import CopyItem

KEY_VERSION = "pyreg-build-cache-v1"
_HIDDEN_FIELDS = ("location", "original")


def _key(document: dict) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(Digest.of_bytes(text.encode("utf-8", "surrogateescape")))


def instruction_text(instruction: ins.Instruction) -> str:
    """The instruction as the key sees it: its keyword and its fields, without
    where it stands in the file."""
    fields = {field.name: getattr(instruction, field.name) for field in dataclasses.fields(instruction)
              if field.name not in _HIDDEN_FIELDS}
    for name, value in fields.items():
        if isinstance(value, ins.Instruction):
            fields[name] = instruction_text(value)
        elif dataclasses.is_dataclass(value):
            fields[name] = dataclasses.asdict(value)
    return instruction.keyword + " " + json.dumps(fields, sort_keys=True, ensure_ascii=False)


def base_key(image: str = "", platform: str = "", stage_key: str = "") -> str:
    """The key a stage starts from: an image's manifest digest (with the
    platform), scratch (both empty), or the last key of a stage."""
    if stage_key:
        return stage_key
    return _key({"v": KEY_VERSION, "from": image or "scratch", "platform": platform})


def step_key(parent: str, instruction: ins.Instruction, build_args: Mapping[str, str] | None = None,
             options: Mapping[str, str] | None = None, sources: Iterable[list] = ()) -> str:
    return _key({"v": KEY_VERSION, "parent": parent, "instruction": instruction_text(instruction),
                 "args": dict(build_args or {}), "options": dict(options or {}), "sources": list(sources)})


def copy_sources(tree: SourceTree, items: Iterable[CopyItem]) -> list[list]:
    """What a COPY's key says of its items; hashes each file (once per build)."""
    described = []
    for item in items:
        entry = item.entry
        if entry is None:
            content, kind = "", "created-dir"
        elif entry.is_file:
            content, kind = tree.digest(entry), "extract" if item.extract else "file"
        else:
            content, kind = entry.link or str(entry.rdev), oct(entry.mode >> 12)
        described.append([item.target, kind, item.mode, item.uid, item.gid, content])
    return described


@dataclass(frozen=True)
class CacheRecord:
    key: str
    created: str
    layer: dict | None = None      # {"mediaType", "digest", "size", "diffID"}; None: no layer

    def to_json(self) -> dict:
        return {"key": self.key, "created": self.created, "layer": self.layer}


class BuildCache:
    def __init__(self, store_root: str | Path):
        self.store_root = Path(store_root)
        self.root = build_cache_steps(store_root)

    def _path(self, key: str) -> Path:
        encoded = Digest.parse(key).encoded
        return self.root / encoded[:2] / f"{encoded}.json"

    def get(self, key: str, layout: OciLayout) -> CacheRecord | None:
        """The record for a key, or None when there is none, it is unreadable,
        or its layer is no longer in the layout."""
        try:
            data = json.loads(self._path(key).read_bytes())
            record = CacheRecord(data["key"], data["created"], data.get("layer"))
            if record.key != key:
                return None
            if record.layer is not None and not layout.has_blob(Digest.parse(record.layer["digest"])):
                return None
        except (OSError, ValueError, KeyError, TypeError, OciError):
            return None
        return record

    def put(self, record: CacheRecord) -> None:
        path = self._path(record.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(record.to_json(), sort_keys=True).encode())

    def referenced_blobs(self) -> set[Digest]:
        """Every layer digest the cache names: what the store's garbage
        collection keeps (puller.store reads the records itself)."""
        return build_cache_blobs(self.store_root)
