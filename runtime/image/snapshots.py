"""The snapshot cache: one extracted directory per layer diff_id, shared by
every image that has the layer, at `<root>/snapshots/<diff_id hex>`.

A layer is extracted into a temporary directory beside the cache and renamed
into place only when its uncompressed stream matched the diff_id, so a
snapshot that exists is always complete and correct.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .. import paths
from .layerstream import open_uncompressed
from .resolve import Image, Layer, blob_path
from .unpack import LayerExtractor


def ensure_snapshot(root: str | os.PathLike, layer: Layer) -> Path:
    """Return the layer's snapshot, extracting and verifying it if missing."""
    target = Path(paths.snapshot(os.fspath(root), layer.diff_id))
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = tempfile.mkdtemp(prefix=f".tmp-{target.name[:12]}-", dir=target.parent)
    try:
        os.chmod(temp, 0o755)  # the layer's own "./" entry, if any, overrides this
        extract_layer_file(blob_path(root, layer.descriptor.digest), layer, temp)
        try:
            os.rename(temp, target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(temp, ignore_errors=True)  # another process won the race
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return target


def extract_layer_file(path: str, layer: Layer, into: str) -> None:
    with open_uncompressed(path, layer.descriptor.media_type, layer.diff_id) as stream:
        LayerExtractor(into).extract(stream)


def ensure_snapshots(root: str | os.PathLike, image: Image) -> list[Path]:
    """All of an image's snapshots, bottom layer first."""
    return [ensure_snapshot(root, layer) for layer in image.layers]
