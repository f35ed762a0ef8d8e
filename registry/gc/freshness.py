"""What counts as recent, so that a push in flight never loses a layer.

Times are storage modification times (file mtimes, S3 LastModified), and
the thresholds are taken from the storage's own clock at the start of the
collection, so a replica's clock does not enter into it. A digest is
relied on when any key naming it, or its touch record (see guard.py), was
written after the threshold.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from ocispec.digest import Digest

from .inventory import Stored

if TYPE_CHECKING:
    from ..config import GcPolicy


@dataclass(frozen=True)
class Freshness:
    threshold: float          # links, blobs and touch records newer than this are kept
    upload_threshold: float   # upload sessions with a file newer than this are kept
    touched: dict[Digest, float] = field(default_factory=dict)

    def recent(self, modified: float) -> bool:
        return modified > self.threshold

    def upload_recent(self, modified: float) -> bool:
        return modified > self.upload_threshold

    def relied_on(self, digest: Digest, stored: Iterable[Stored] = ()) -> bool:
        touched = self.touched.get(digest)
        return (touched is not None and self.recent(touched)) or any(self.recent(s.modified) for s in stored)


@dataclass(frozen=True)
class Timing:
    """The clock of the protocol between a collection and the writers.

    `touch_age`: a manifest PUT relying on a link older than this writes a
    touch record first. `commit_window`: the longest a PUT may take from
    its checks to its commit (it checks again when later). A collection
    keeps links and blobs written within max(grace, touch_age +
    commit_window) plus `slack` (S3 times have whole seconds), so the two
    sides always overlap. `lease`: a sweep whose state was not rewritten
    for this long is dead; writers stop waiting for it."""
    grace: float = 3600.0
    touch_age: float = 600.0
    commit_window: float = 60.0
    slack: float = 2.0
    lease: float = 60.0
    poll: float = 0.2

    @property
    def keep_for(self) -> float:
        return max(self.grace, self.touch_age + self.commit_window) + self.slack

    def freshness(self, now: float, touched: dict[Digest, float]) -> Freshness:
        """Thresholds for a collection that started at `now` (storage time)."""
        return Freshness(now - self.keep_for, now - self.grace - self.slack, touched)


def timing_of(policy: GcPolicy, grace: float | None = None) -> Timing:
    """The protocol's clock as configured; `grace` overrides the policy's (`pyreg gc --grace`)."""
    return Timing(grace=policy.grace if grace is None else grace, touch_age=policy.touch_age,
                  commit_window=policy.commit_window, lease=policy.lease)
