"""Streaming gzip decompression for layers, faster than the gzip module.

`gzip.GzipFile` inflates in 8 KiB steps and keeps a CRC32 that the diff_id
check makes redundant. This reader feeds zlib 1 MiB at a time, never lets one
step produce more than 1 MiB (so a gzip bomb cannot fill memory), follows
multi-member files, and tolerates the zero padding some tools append.
"""
from __future__ import annotations

import zlib as _zlib

from ..errors import RuntimeFailure

CHUNK = 1 << 20
_GZIP_WBITS = 16 + 15


class GzipError(RuntimeFailure):
    pass


class GzipReader:
    def __init__(self, raw):
        self.raw = raw
        self.inflater = _zlib.decompressobj(_GZIP_WBITS)
        self.pending = b""  # compressed bytes not yet given to the inflater
        self.buffer = bytearray()
        self.in_member = False
        self.finished = False

    def read(self, size: int = -1) -> bytes:
        """Exactly `size` bytes unless the stream ends first."""
        size = size if size >= 0 else 1 << 62
        while len(self.buffer) < size and not self.finished:
            self._inflate_step()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def close(self) -> None:
        self.raw.close()

    def _inflate_step(self) -> None:
        if not self.pending:
            self.pending = self.raw.read(CHUNK)
            if not self.pending:
                if self.in_member:
                    raise GzipError("the gzip stream is truncated")
                self.finished = True
                return
        if not self.in_member and not self.pending.strip(b"\0"):
            self.pending = b""  # zero padding after the last member
            return
        try:
            out = self.inflater.decompress(self.pending, CHUNK)
        except _zlib.error as err:
            raise GzipError(f"invalid gzip data: {err}") from None
        self.in_member = True
        self.pending = self.inflater.unconsumed_tail
        if self.inflater.eof:
            self.pending = self.inflater.unused_data
            self.inflater = _zlib.decompressobj(_GZIP_WBITS)
            self.in_member = False
        self.buffer += out
