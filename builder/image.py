"""The image a build ends with: its config and OCI manifest written into the
local store, and the names it is given there (or, with none, an entry
without a name, as docker keeps a dangling image, so that the store's
garbage collection keeps it and `pyreg run <id>` finds it).

Both documents are serialized one way (compact JSON, keys in the order the
build put them), so the same inputs give the same digests. Layers a base
image carries as Docker's gzip type are the same bytes as OCI's gzip layer,
and are named so, keeping the manifest purely OCI.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass

from ocispec import mediatypes as mt
from ocispec.descriptor import Descriptor
from ocispec.digest import Digest
from puller.store import LocalStore
from runtime.image.resolve import Layer

from .session import StageResult

_SAME_BYTES = {mt.DOCKER_LAYER_GZIP: mt.OCI_LAYER_GZIP, mt.DOCKER_LAYER: mt.OCI_LAYER}


@dataclass(frozen=True)
class StoredImage:
    manifest: Descriptor
    image_id: Digest          # the config's digest, as docker names images
    names: tuple[str, ...]    # the store's full names


def final_config(result: StageResult, labels: dict[str, str]) -> dict:
    """The target stage's config with the --label values merged in."""
    config = copy.deepcopy(result.config)
    if labels:
        settings = config.setdefault("config", {})
        settings["Labels"] = {**(settings.get("Labels") or {}), **labels}
    return config


def _compact(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogateescape")


def _layer_descriptor(layer: Layer) -> dict:
    descriptor = layer.descriptor
    media_type = _SAME_BYTES.get(descriptor.media_type, descriptor.media_type)
    return Descriptor(media_type, descriptor.digest, descriptor.size, urls=descriptor.urls).to_json()


def store_image(store: LocalStore, config: dict, layers: list[Layer], names: list[str]) -> StoredImage:
    raw_config = _compact(config)
    with store.pinned():
        config_digest = store.layout.write_blob(raw_config)
        manifest = {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                    "config": Descriptor(mt.OCI_CONFIG, config_digest, len(raw_config)).to_json(),
                    "layers": [_layer_descriptor(layer) for layer in layers]}
        raw_manifest = _compact(manifest)
        descriptor = Descriptor(mt.OCI_MANIFEST, store.layout.write_blob(raw_manifest), len(raw_manifest))
        for name in names:
            store.layout.set_ref(name, descriptor)
        if not names:
            _keep_unnamed(store, descriptor)
    return StoredImage(descriptor, config_digest, tuple(names))


def _keep_unnamed(store: LocalStore, descriptor: Descriptor) -> None:
    with store.layout.locked():
        entries = store.layout.index()
        if not any(entry.digest == descriptor.digest for entry in entries):
            store.layout.write_index(entries + [descriptor])
