"""Writing a layer into an OCI image layout: streamed into a temp file in the
layout's ingest directory, fsync'd, and renamed into blobs/ under its digest
(OciLayout.new_blob), so a crash leaves either nothing or a temp file in
ingest/ (which is cleanable), never a half blob. The caller holds the store's
pin (LocalStore.pinned) until a manifest names the blob, so a concurrent
`rmi` cannot collect it."""
from __future__ import annotations

from typing import Callable

from ocispec.layout import OciLayout

from .tarstream import LayerResult, LayerStream


def write_layer(layout: OciLayout, fill: Callable[[LayerStream], None],
                epoch: int | None = None) -> LayerResult:
    with layout.new_blob("build-layer-") as blob:
        stream = LayerStream(blob.file, epoch)
        fill(stream)
        result = stream.finish()
        blob.commit(result.digest)
    return result
