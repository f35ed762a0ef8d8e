"""The shape of one hostile row and what it may answer.

`expect` maps each acceptable status to the OCI error codes acceptable with
it: a set of codes (the body must be `{"errors": [{"code": ...}]}` with one
of them first), `ANY_CODE` (an OCI error body with any code: the spec names
none for this case), or `NO_BODY` (the request never reaches the registry:
aiohttp's HTTP parser rejects it, and the spec has nothing to say about the
body). 5xx is never acceptable; `test_no_row_accepts_a_server_error` checks.

Targets and text bodies may name seeded objects: `{repo}`, `{tag}`,
`{config}`, `{layer}`, `{foreign}` (digests), `{manifest}` (its digest),
`{upload}` (this row's own session path) and `{upload_id}`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from tests.hostile import rawhttp
from tests.hostile.state import REPO, TAG, Seed, sha256

ANY_CODE = frozenset({"*"})
# spec.md, "Error Codes": "The `code` field MUST be one of the following".
SPEC_CODES = frozenset({
    "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID",
    "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED", "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS"})
NO_BODY = None
Codes = frozenset | None
Body = bytes | Callable[[Seed], bytes]


@dataclass(frozen=True)
class Row:
    id: str
    method: str
    target: str | bytes                      # bytes: sent verbatim, no placeholders
    expect: dict[int, Codes]
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""
    content_length: int | str | None = None  # a lie about the body, when set
    upload: bool = False                     # needs a fresh session holding 10 bytes
    hang_up: bool = False                    # close right after sending; no answer read
    touches_upload: bool = False             # may change its own session's data
    opens_session: bool = False              # may start a new (empty) upload session in REPO

    def __str__(self) -> str:
        return self.id

    def request(self, seed: Seed) -> bytes:
        target = self.target if isinstance(self.target, bytes) else self.target.format(**fields(seed))
        body = self.body(seed) if callable(self.body) else self.body
        headers = {key: value.format(**fields(seed)) for key, value in self.headers.items()}
        return rawhttp.build(self.method, target, headers, body, self.content_length)


def fields(seed: Seed) -> dict[str, str]:
    return {"repo": REPO, "tag": TAG, "config": sha256(seed.config), "layer": sha256(seed.layer),
            "foreign": sha256(seed.foreign), "manifest": sha256(seed.manifest),
            "upload": seed.upload, "upload_id": seed.upload.rsplit("/", 1)[-1]}


def codes(*names: str) -> frozenset:
    return frozenset(names)


def parser_reject(*statuses: int) -> dict[int, Codes]:
    """aiohttp's own framing errors: 400 unless told otherwise."""
    return {status: NO_BODY for status in (statuses or (400,))}


def check_answer(row: Row, response: rawhttp.RawResponse) -> None:
    """Assert `response` is one the row accepts (see module docstring)."""
    if row.hang_up and response.status is None:
        return
    assert response.status is not None, f"{row.id}: server closed the connection without answering"
    assert response.status < 500, f"{row.id}: server error {response.describe()}"
    assert response.status in row.expect, \
        f"{row.id}: status {response.status} not in {sorted(row.expect)}: {response.describe()}"
    wanted = row.expect[response.status]
    if wanted is NO_BODY:
        return
    found = response.error_codes()
    assert found, f"{row.id}: no OCI error body: {response.describe()}"
    if wanted is not ANY_CODE:
        assert found[0] in wanted, f"{row.id}: code {found[0]} not in {sorted(wanted)}"
def check_spec_codes(row: Row, response: rawhttp.RawResponse) -> None:
    """A JSON error body, whatever the row accepts, may carry only the spec's codes."""
    found = response.error_codes() or []
    outside = [code for code in found if code not in SPEC_CODES]
    assert not outside, f"{row.id}: error code {outside[0]} is not in the spec's table: {response.describe()}"
