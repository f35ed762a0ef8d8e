"""HTTP `Range: bytes=...` for blob GETs that are streamed (not sendfile'd)."""
from __future__ import annotations

import re

_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)", re.ASCII)


class RangeNotSatisfiable(Exception):
    """Answered with a bare 416 and `Content-Range: bytes */<size>`, as
    aiohttp's FileResponse does: an HTTP matter, not an OCI error."""

    def __init__(self, size: int):
        super().__init__(f"range not satisfiable for {size} bytes")
        self.size = size


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) of a single byte range, or None for the
    whole blob; raises RangeNotSatisfiable."""
    if header is None:
        return None
    match = _RANGE_RE.fullmatch(header.strip())
    if not match or (not match[1] and not match[2]):
        return None  # unsupported forms (multiple ranges) get the whole blob, as RFC 9110 allows
    if not match[1]:  # suffix: the last N bytes
        suffix = int(match[2])
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - suffix), size - 1
    start = int(match[1])
    end = min(int(match[2]), size - 1) if match[2] else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(size)
    return start, end
