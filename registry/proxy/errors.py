"""What can go wrong with an upstream, and what a client is told then.

An upstream's failure is never the client's mistake and never a 500: what
the upstream does not have is the spec's "unknown" code (404); an upstream
that is down, too slow, refuses the proxy's credentials or answers garbage
is 503 UNKNOWN with a message saying so; a rate limit is passed on as 429
TOOMANYREQUESTS with the upstream's Retry-After.
"""
from __future__ import annotations

from ocispec.errors import ErrorCode, OciError


class UpstreamError(Exception):
    """The upstream could not give what was asked; `reason` is one line for the log."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def to_oci(self, unknown: ErrorCode, detail: dict) -> OciError:
        return OciError(ErrorCode.UNKNOWN, f"upstream unavailable: {self.reason}", detail, status=503)


class UpstreamNotFound(UpstreamError):
    def to_oci(self, unknown: ErrorCode, detail: dict) -> OciError:
        return OciError(unknown, detail=detail)


class UpstreamRateLimited(UpstreamError):
    def __init__(self, reason: str, retry_after: str | None):
        super().__init__(reason)
        self.retry_after = retry_after

    def to_oci(self, unknown: ErrorCode, detail: dict) -> OciError:
        error = OciError(ErrorCode.TOOMANYREQUESTS, f"upstream rate limit: {self.reason}", detail)
        if self.retry_after and self.retry_after.isdigit():
            error.headers = {"Retry-After": self.retry_after}
        return error


class UpstreamLied(UpstreamError):
    """The upstream sent bytes that do not match the digest they were asked by."""
