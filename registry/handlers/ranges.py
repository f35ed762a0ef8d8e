"""HTTP `Range: bytes=...` for blob GETs that are streamed (not sendfile'd)."""
from __future__ import annotations

import re

from ocispec.errors import ErrorCode, OciError

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) of a single byte range, or None for the
    whole blob; raises RANGE_INVALID (416) when unsatisfiable."""
    if header is None:
        return None
    match = _RANGE_RE.match(header.strip())
    if not match or (not match[1] and not match[2]):
        return None  # unsupported forms (multiple ranges) get the whole blob, as RFC 9110 allows
    if not match[1]:  # suffix: the last N bytes
        suffix = int(match[2])
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - suffix), size - 1
    start = int(match[1])
    end = min(int(match[2]), size - 1) if match[2] else size - 1
    if start >= size or end < start:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> OciError:
    error = OciError(ErrorCode.RANGE_INVALID, "requested range not satisfiable")
    error.headers = {"Content-Range": f"bytes */{size}"}
    return error
