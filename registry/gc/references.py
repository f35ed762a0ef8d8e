"""What a stored manifest keeps alive, read leniently.

Marking must never miss a reference, so this reads more than the strict
parser accepts: schema 1 (`fsLayers[].blobSum`, as Distribution may hold),
OCI artifact manifests (`blobs`), and any shape of JSON. Every `digest`
string anywhere in the document counts, except that `manifests[]` entries
are child manifests and `subject` names the manifest this one refers to.
A superset is safe: marking a digest that is not stored costs nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ocispec.digest import Digest
from ocispec.errors import OciError


@dataclass(frozen=True, slots=True)
class References:
    blobs: frozenset[Digest] = frozenset()
    children: frozenset[Digest] = frozenset()
    subject: Digest | None = None
    readable: bool = True  # False: not JSON at all (nothing can be marked through it)


UNREADABLE = References(readable=False)


def _parsed(value) -> Digest | None:
    if not isinstance(value, str):
        return None
    try:
        return Digest.parse(value)
    except OciError:
        return None


def _all_digests(node, found: set[Digest]) -> None:
    pending = [node]
    while pending:  # iterative: a hostile document may nest deeply
        node = pending.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("digest", "blobSum") and (digest := _parsed(value)):
                    found.add(digest)
                elif isinstance(value, (dict, list)):
                    pending.append(value)
        elif isinstance(node, list):
            pending.extend(item for item in node if isinstance(item, (dict, list)))


def references_of(raw: bytes) -> References:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return UNREADABLE
    if not isinstance(data, dict):
        return References()
    children: set[Digest] = set()
    entries = data.get("manifests")
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict) and (digest := _parsed(entry.get("digest"))):
                children.add(digest)
    subject_entry = data.get("subject")
    subject = _parsed(subject_entry.get("digest")) if isinstance(subject_entry, dict) else None
    blobs: set[Digest] = set()
    _all_digests({k: v for k, v in data.items() if k not in ("manifests", "subject")}, blobs)
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict):  # a child's own fields (platform, annotations...) may name blobs
            _all_digests({k: v for k, v in entry.items() if k != "digest"}, blobs)
    return References(frozenset(blobs - children), frozenset(children), subject)
