"""spec.md, "Error Codes": a JSON error body's `code` "MUST be one of" the
fourteen in the spec's table. One row per situation where the spec names no
code and Distribution answers with one outside the table (RANGE_INVALID,
PAGINATION_NUMBER_INVALID, NOT_FOUND): pyreg must not.
"""
from __future__ import annotations

import dataclasses

import pytest

from tests.hostile import rawhttp
from tests.hostile.state import open_upload
from tests.hostile.table import SPEC_CODES, Row

ROWS = [
    # The spec names no code for a 416; BLOB_UPLOAD_INVALID is the nearest.
    Row("out-of-order-chunk", "PATCH", "{upload}", {416: None}, {"Content-Range": "20-29"},
        b"abcdefghij", upload=True),
    # No code for a bad `n` either; Distribution's PAGINATION_NUMBER_INVALID is not in the table.
    Row("bad-page-size", "GET", "/v2/{repo}/tags/list?n=-1", {400: None}),
    # An unknown endpoint: the spec's end-1 failure is a 404; the body may be anything but
    # a JSON body must use a table code (NAME_UNKNOWN or UNSUPPORTED, say).
    Row("unknown-endpoint", "GET", "/v2/hostile/app/no-such-endpoint", {404: None}),
]


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_error_code_is_in_the_spec_table(row: Row, hostile_server):
    seed = hostile_server.seed
    if row.upload:
        seed = dataclasses.replace(seed, upload=open_upload(hostile_server.url))
    response = rawhttp.exchange(hostile_server.port, row.request(seed))
    assert response.status in row.expect, response.describe()
    codes = response.error_codes() or []
    assert all(code in SPEC_CODES for code in codes), f"non-spec code: {response.describe()}"
