"""OCI distribution error codes, defined once for the server and the client.

The server raises `OciError`; one middleware renders it as the spec's
`{"errors": [...]}` body. The client parses the same body back into `OciError`.
"""
from __future__ import annotations

import enum
import json
from typing import Any


class ErrorCode(enum.Enum):
    # (spec code, HTTP status, message)
    BLOB_UNKNOWN = ("BLOB_UNKNOWN", 404, "blob unknown to registry")
    BLOB_UPLOAD_INVALID = ("BLOB_UPLOAD_INVALID", 400, "blob upload invalid")
    BLOB_UPLOAD_UNKNOWN = ("BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry")
    DIGEST_INVALID = ("DIGEST_INVALID", 400, "provided digest did not match uploaded content")
    MANIFEST_BLOB_UNKNOWN = ("MANIFEST_BLOB_UNKNOWN", 400, "manifest references a manifest or blob unknown to registry")
    MANIFEST_INVALID = ("MANIFEST_INVALID", 400, "manifest invalid")
    MANIFEST_UNKNOWN = ("MANIFEST_UNKNOWN", 404, "manifest unknown to registry")
    NAME_INVALID = ("NAME_INVALID", 400, "invalid repository name")
    NAME_UNKNOWN = ("NAME_UNKNOWN", 404, "repository name not known to registry")
    SIZE_INVALID = ("SIZE_INVALID", 400, "provided length did not match content length")
    UNAUTHORIZED = ("UNAUTHORIZED", 401, "authentication required")
    DENIED = ("DENIED", 403, "requested access to the resource is denied")
    UNSUPPORTED = ("UNSUPPORTED", 405, "the operation is unsupported")
    TOOMANYREQUESTS = ("TOOMANYREQUESTS", 429, "too many requests")
    # The server's own failures (5xx), under Distribution's code for them.
    UNKNOWN = ("UNKNOWN", 500, "unknown error")
    # Spec codes under another status or message.
    SIZE_TOO_LARGE = ("SIZE_INVALID", 413, "manifest too large")
    METHOD_UNKNOWN = ("UNSUPPORTED", 405, "method not allowed")

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def status(self) -> int:
        return self.value[1]

    @property
    def message(self) -> str:
        return self.value[2]


class OciError(Exception):
    """An error a registry reports in its `{"errors": [...]}` body."""

    def __init__(self, code: ErrorCode, message: str | None = None,
                 detail: Any = None, status: int | None = None):
        self.code = code
        self.message = message or code.message
        self.detail = detail
        self.status = status or code.status
        super().__init__(f"{code.code}: {self.message}")

    def to_dict(self) -> dict:
        entry: dict[str, Any] = {"code": self.code.code, "message": self.message}
        if self.detail is not None:
            entry["detail"] = self.detail
        return entry

    def to_body(self) -> bytes:
        return json.dumps({"errors": [self.to_dict()]}).encode()


_BY_CODE = {}
for _member in ErrorCode:
    _BY_CODE.setdefault(_member.code, _member)


def code_from_string(code: str) -> ErrorCode | None:
    return _BY_CODE.get(code)


def parse_error_body(body: bytes, status: int) -> list[OciError]:
    """Read a registry's error body; a code outside the table becomes UNKNOWN,
    with the registry's message (or, without one, its code) kept."""
    try:
        entries = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        return []
    errors = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        code = code_from_string(str(entry.get("code", ""))) or ErrorCode.UNKNOWN
        message = str(entry.get("message") or entry.get("code") or code.message)
        errors.append(OciError(code, message, entry.get("detail"), status))
    return errors
