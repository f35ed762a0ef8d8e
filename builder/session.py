"""What every step of one build shares (the store, the cache, the context,
the build-wide settings, the stages built so far), and a stage's state as
its steps go: its config, layers, cache key and variable scope.

A step's cache record is looked up by its key; on a miss the step runs
while the store's pin is held (LocalStore.pinned: a concurrent `rmi`
collects nothing between a layer's commit and the record naming it), and
its record is written with the step's time, which a cached rebuild reuses.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

from ocispec.descriptor import Descriptor, Platform
from ocispec.digest import Digest
from puller.store import LocalStore
from runtime.image.resolve import Layer
from runtime.image.snapshots import ensure_snapshot

from . import instructions as ins
from .bases import ImageSource
from .cache import BuildCache, CacheRecord, step_key
from .context import SourceTree
from .imageconfig import StageConfig, timestamp
from .scope import StageScope
from .tarstream import LayerResult
from .view import LayeredTree


@dataclass(frozen=True)
class Settings:
    """The build-wide options a step reads."""
    no_cache: bool = False
    network: str = "none"              # RUN's, unless RUN --network says otherwise
    epoch: int | None = None           # --timestamp / SOURCE_DATE_EPOCH
    platform: Platform | None = None   # the target platform
    quiet: bool = False


@dataclass
class StageResult:
    index: int
    config: dict                       # the image config, whole
    layers: list[Layer]
    key: str                           # the last step's cache key
    platform: Platform


@dataclass
class StageState:
    label: str
    config: StageConfig
    layers: list[Layer]
    key: str
    scope: StageScope
    platform: Platform
    _view: LayeredTree | None = field(default=None, repr=False)

    def snapshots(self, session: "Session") -> list[str]:
        return snapshots_of(session, self.layers)

    def view(self, session: "Session") -> LayeredTree:
        """The stage's filesystem as its layers so far make it."""
        if self._view is None:
            self._view = LayeredTree(self.snapshots(session), f"stage {self.label}")
        return self._view

    def add(self, record: CacheRecord) -> Layer | None:
        self.key = record.key
        if record.layer is None:
            return None
        layer = layer_of(record.layer)
        self.layers.append(layer)
        self._view = None
        return layer

    def result(self, index: int) -> StageResult:
        return StageResult(index, self.config.config, list(self.layers), self.key, self.platform)


def snapshots_of(session: "Session", layers: list[Layer]) -> list[str]:
    """The layers extracted (once, verified) into the runtime's snapshots."""
    return [str(ensure_snapshot(session.store.root, layer)) for layer in layers]


def layer_of(described: dict) -> Layer:
    return Layer(Descriptor(described["mediaType"], Digest.parse(described["digest"]), described["size"]),
                 Digest.parse(described["diffID"]))


def describe_layer(result: LayerResult | None) -> dict | None:
    if result is None or result.empty:
        return None
    return {"mediaType": result.media_type, "digest": str(result.digest), "size": result.size,
            "diffID": str(result.diff_id)}


class Session:
    def __init__(self, store: LocalStore, context: SourceTree, images: ImageSource, settings: Settings,
                 output: BinaryIO | None = None):
        self.store, self.context, self.images, self.settings = store, context, images, settings
        self.cache = BuildCache(store.root)
        self.stages: dict[int, StageResult] = {}
        self.stage_names: dict[str, int] = {}
        self.output = output if output is not None else sys.stderr.buffer

    def say(self, line: str) -> None:
        if not self.settings.quiet:
            self.output.write(line.encode("utf-8", "replace") + b"\n")
            self.output.flush()

    @property
    def run_output(self) -> BinaryIO | None:
        return None if self.settings.quiet else self.output

    def now(self) -> int:
        return self.settings.epoch if self.settings.epoch is not None else int(time.time())

    def created(self, record: CacheRecord) -> str:
        """A step's history time: the epoch when one is given, else the
        record's, so that a cached rebuild gives the same image."""
        return timestamp(self.settings.epoch) if self.settings.epoch is not None else record.created

    def key(self, state: StageState, instruction: ins.Instruction, options: dict | None = None,
            sources=()) -> str:
        wide = {"epoch": str(self.settings.epoch)} if self.settings.epoch is not None else {}
        return step_key(state.key, instruction, state.scope.visible_args(), {**wide, **(options or {})},
                        sources)

    def record_for(self, key: str, produce: Callable[[], LayerResult | None]) -> CacheRecord:
        """The cached record of a step, or the step run now and recorded."""
        found = None if self.settings.no_cache else self.cache.get(key, self.store.layout)
        if found is not None:
            self.say("  --> using the cache")
            return found
        with self.store.pinned():
            layer = produce()
            record = CacheRecord(key, timestamp(time.time()), describe_layer(layer))
            self.cache.put(record)
        return record
