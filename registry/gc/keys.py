"""Storage keys of online garbage collection, beside the registry:2 layout.

    docker/registry/v2/_pyreg/gc/
    ├── sweeps/<epoch>/
    │   ├── state                                  the sweep's lease: JSON, rewritten as a heartbeat
    │   └── doomed/<phase>/<alg>/<1 hex>           digests this sweep may delete, one hex a line
    └── touched/<alg>/<1 hex>/<hex>                a writer relies on this digest (empty)

A shard is the digests sharing a first hex digit: sixteen of them keep a
sweep's requests few on S3 (each shard costs a listing and a few batch
deletes) while a writer waits for one sixteenth of a sweep at most.

Distribution walks only `blobs/` and `repositories/`, so `_pyreg/` is
invisible to it (its garbage-collect and catalog leave it alone).
These functions belong in `registry/paths.py`; they live here until the
keys module is free to change.
"""
from __future__ import annotations

from ocispec.digest import Digest

from .. import paths

GC = f"{paths.ROOT}/_pyreg/gc"
SWEEPS = f"{GC}/sweeps"
TOUCHED = f"{GC}/touched"
PHASES = ("unlink", "blobs")  # the order a sweep deletes in


def shard_of(digest: Digest) -> tuple[str, str]:
    """(algorithm, first hex digit): the unit a sweep publishes and finishes."""
    return digest.algorithm, digest.encoded[:1]


def sweep_dir(epoch: str) -> str:
    return f"{SWEEPS}/{epoch}"


def sweep_state(epoch: str) -> str:
    return f"{sweep_dir(epoch)}/state"


def doomed_shard(epoch: str, phase: str, shard: tuple[str, str]) -> str:
    return f"{sweep_dir(epoch)}/doomed/{phase}/{shard[0]}/{shard[1]}"


def touch_record(digest: Digest) -> str:
    return f"{TOUCHED}/{digest.algorithm}/{digest.encoded[:1]}/{digest.encoded}"


def touched_shard(shard: tuple[str, str]) -> str:
    return f"{TOUCHED}/{shard[0]}/{shard[1]}"
