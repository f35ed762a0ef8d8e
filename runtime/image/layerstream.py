"""Opening a layer blob as a stream of its uncompressed tar bytes, hashed as
they pass so the diff_id is checked without a second read.

The decompression (gzip with ISA-L, zstd through the `zstd` program, plain
tar as is) is ocispec.uncompressed's, shared with `pyreg save`; this wing
adds the diff_id check around it. The stream can be read only forwards; it
offers `tell` and a forward `seek` so tarfile can use it in its (faster)
random-access mode.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import BinaryIO

from ocispec import uncompressed
from ocispec.digest import Digest, Verifier
from ocispec.errors import OciError

from ..errors import RuntimeFailure

CHUNK = 1 << 20


class LayerFormatError(RuntimeFailure, uncompressed.LayerFormatError):
    """A layer whose media type or bytes the runtime cannot read: ocispec's
    failure, with the exit code the runtime ends with."""


class HashingReader:
    """A forward-only file-like object that hashes everything read through it."""

    def __init__(self, raw: BinaryIO, verifier: Verifier):
        self.raw = raw
        self.verifier = verifier
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.verifier.update(data)
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.position

    def seek(self, position: int, whence: int = 0) -> int:
        if whence != 0 or position < self.position:
            raise OSError("a layer stream can only move forwards")
        while self.position < position:
            if not self.read(min(CHUNK, position - self.position)):
                break
        return self.position

    def seekable(self) -> bool:
        return True

    def drain(self) -> None:
        """Hash whatever follows the tar end marker: it is part of the diff_id."""
        while self.read(CHUNK):
            pass


@contextlib.contextmanager
def open_uncompressed(path: str, media_type: str, diff_id: Digest) -> Iterator[HashingReader]:
    """Yield the layer's tar stream; after the block, the stream must have
    matched diff_id, else LayerFormatError is raised."""
    verifier = Verifier(diff_id)
    try:
        opened = uncompressed.open_uncompressed(path, media_type)
    except uncompressed.LayerFormatError as err:
        raise LayerFormatError(str(err)) from None
    try:
        with opened as raw:
            reader = HashingReader(raw, verifier)
            yield reader
            reader.drain()
    except (OSError, EOFError, uncompressed.LayerFormatError) as err:
        if isinstance(err, (FileNotFoundError, PermissionError, LayerFormatError)):
            raise
        raise LayerFormatError(f"layer {diff_id} is corrupt: {err}") from None
    try:
        verifier.verify()
    except OciError as err:
        raise LayerFormatError(f"layer {diff_id} does not verify: {err.message}") from None
