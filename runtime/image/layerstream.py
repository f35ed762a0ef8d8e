"""Opening a layer blob as a stream of its uncompressed tar bytes, hashed as
they pass so the diff_id is checked without a second read.

gzip goes through gzipstream.py; zstd through the `zstd` binary, streaming;
plain tar as is. The stream can be read only forwards; it offers `tell` and a
forward `seek` so tarfile can use it in its (faster) random-access mode.
"""
from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from typing import BinaryIO

from ocispec import mediatypes as mt
from ocispec.digest import Digest, Verifier
from ocispec.errors import OciError

from ..errors import RuntimeFailure
from .gzipstream import GzipError, GzipReader

CHUNK = 1 << 20


class LayerFormatError(RuntimeFailure):
    """A layer whose media type or bytes the runtime cannot read."""


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


def _gzip_open(path: str) -> GzipReader:
    return GzipReader(open(path, "rb"))


@contextlib.contextmanager
def _zstd_stream(path: str) -> Iterator[BinaryIO]:
    try:
        process = subprocess.Popen(["zstd", "-dcq", "--", path], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise LayerFormatError("zstd layers need the zstd program (apt-get install zstd)") from None
    try:
        yield process.stdout
        process.stdout.read()
    finally:
        process.stdout.close()
        code = process.wait()
        error = process.stderr.read().decode(errors="replace").strip()
        process.stderr.close()
    if code != 0:
        raise LayerFormatError(f"zstd could not decompress the layer: {error}")


@contextlib.contextmanager
def open_uncompressed(path: str, media_type: str, diff_id: Digest) -> Iterator[HashingReader]:
    """Yield the layer's tar stream; after the block, the stream must have
    matched diff_id, else LayerFormatError is raised."""
    verifier = Verifier(diff_id)
    if media_type in mt.GZIP_LAYERS:
        opener = contextlib.closing(_gzip_open(path))
    elif media_type in mt.ZSTD_LAYERS:
        opener = _zstd_stream(path)
    elif media_type in mt.PLAIN_LAYERS:
        opener = open(path, "rb")
    else:
        raise LayerFormatError(f"unsupported layer media type {media_type!r}")
    with opener as raw:
        reader = HashingReader(raw, verifier)
        try:
            yield reader
            reader.drain()
        except (OSError, EOFError, GzipError) as err:
            if isinstance(err, (FileNotFoundError, PermissionError)):
                raise
            raise LayerFormatError(f"layer {diff_id} is corrupt: {err}") from None
    try:
        verifier.verify()
    except OciError as err:
        raise LayerFormatError(f"layer {diff_id} does not verify: {err.message}") from None
