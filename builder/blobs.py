"""Writing a layer into an OCI image layout: streamed into a temp file in the
layout's ingest directory, fsync'd, and renamed into blobs/ under its digest,
so a crash leaves either nothing or a temp file in ingest/ (which is cleanable),
never a half blob. The caller holds the store's pin (LocalStore.pinned) until
a manifest names the blob, so a concurrent `rmi` cannot collect it."""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Callable

from ocispec.layout import OciLayout

from .tarstream import LayerResult, LayerStream

_BUFFER = 1 << 20


def write_layer(layout: OciLayout, fill: Callable[[LayerStream], None],
                epoch: int | None = None) -> LayerResult:
    layout.ingest_dir.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=layout.ingest_dir, prefix="build-layer-")
    try:
        with os.fdopen(fd, "wb", buffering=_BUFFER) as out:
            stream = LayerStream(out, epoch)
            fill(stream)
            result = stream.finish()
            out.flush()
            os.fsync(out.fileno())
        if layout.has_blob(result.digest):
            os.unlink(temp)
        else:
            layout.commit_blob(temp, result.digest)
        return result
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
