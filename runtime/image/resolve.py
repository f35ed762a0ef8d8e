"""Finding an image in the local store and reading what the runtime needs
from it: layers with their diff_ids and the run configuration (Entrypoint,
Cmd, Env, WorkingDir, User...).

Lookup goes through `puller.store.LocalStore` (names, digests, image ids,
platform choice in an index), so `pyreg run X` finds exactly what
`pyreg images` lists. Only the cold path comes here: cache.py answers
warm starts without loading any of this (find_image asks it first).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ocispec.descriptor import Descriptor
from ocispec.digest import Digest
from ocispec.errors import OciError
from ocispec.layout import OciLayout
from puller.store import ImageNotFound as StoreImageNotFound
from puller.store import LocalStore

from .. import paths
from ..errors import RuntimeFailure


class ImageNotFound(RuntimeFailure):
    pass


class ImageInvalid(RuntimeFailure):
    pass


@dataclass(frozen=True)
class Layer:
    descriptor: Descriptor
    diff_id: Digest


@dataclass(frozen=True)
class Image:
    reference: str
    manifest_digest: Digest
    layers: tuple[Layer, ...]
    config: dict = field(default_factory=dict)  # the image config's "config" object


def resolve_image(root: str | os.PathLike, name: str) -> Image:
    store = LocalStore(root)
    try:
        entry = store.find(name)
        descriptor, manifest, config = store.resolve_image(name)
    except (StoreImageNotFound, LookupError) as err:
        raise ImageNotFound(f"image {name!r} not found locally" if isinstance(err, StoreImageNotFound)
                            else str(err)) from None
    except FileNotFoundError as err:
        raise ImageInvalid(f"image {name!r} is incomplete in the local store: {err.filename}") from None
    except (OciError, ValueError) as err:
        raise ImageInvalid(f"image {name!r} is invalid: {err}") from None
    return _image_from(entry.name or name, descriptor.digest, manifest.layers, config)


def _image_from(reference: str, digest: Digest, layers, config) -> Image:
    try:
        diff_ids = [Digest.parse(d) for d in config.get("rootfs", {}).get("diff_ids", [])]
    except (OciError, AttributeError, TypeError):
        raise ImageInvalid(f"image {reference!r} has invalid diff_ids") from None
    if len(diff_ids) != len(layers):
        raise ImageInvalid(f"image {reference!r} has {len(layers)} layers but {len(diff_ids)} diff_ids")
    run_config = config.get("config") or {}
    if not isinstance(run_config, dict):
        raise ImageInvalid(f"image {reference!r} has an invalid config")
    return Image(reference, digest, tuple(Layer(d, i) for d, i in zip(layers, diff_ids)), run_config)


def blob_path(root: str | os.PathLike, digest: Digest) -> str:
    return str(OciLayout(paths.images(os.fspath(root))).blob_path(digest))
