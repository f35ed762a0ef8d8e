"""The hostile table's checks are only worth something if they can fail:
a legitimate write shows up in the storage snapshot, and answers outside a
row's expectation are refused."""
from __future__ import annotations

import os

import pytest

from tests.hostile import rawhttp
from tests.hostile.state import REPO, changes, sha256, snapshot
from tests.hostile.table import ANY_CODE, NO_BODY, Row, check_answer, codes

ROW = Row("example", "GET", "/v2/", {400: codes("NAME_INVALID"), 404: ANY_CODE, 416: NO_BODY})


def test_a_real_upload_shows_up_in_the_snapshot(hostile_server):
    blob = os.urandom(500)
    before = snapshot(hostile_server.storage)
    answer = rawhttp.exchange(hostile_server.port, rawhttp.build(
        "POST", f"/v2/{REPO}/blobs/uploads/?digest={sha256(blob)}", {}, blob))
    assert answer.status == 201, answer.describe()
    found = changes(before, snapshot(hostile_server.storage))
    hex_digest = sha256(blob).split(":", 1)[1]
    assert f"new: docker/registry/v2/blobs/sha256/{hex_digest[:2]}/{hex_digest}/data" in found
    assert any(line.endswith(f"_layers/sha256/{hex_digest}/link") for line in found), found


@pytest.mark.parametrize("response", [
    rawhttp.RawResponse(500, {}, b'{"errors": [{"code": "UNKNOWN"}]}'),
    rawhttp.RawResponse(None),
    rawhttp.RawResponse(201, {}, b""),
    rawhttp.RawResponse(400, {}, b"plain text"),
    rawhttp.RawResponse(400, {}, b'{"errors": [{"code": "DIGEST_INVALID"}]}'),
    rawhttp.RawResponse(404, {}, b'{"oops": 1}'),
], ids=["server-error", "hung-up", "success", "no-oci-body", "wrong-code", "not-an-error-body"])
def test_unexpected_answers_are_refused(response):
    with pytest.raises(AssertionError):
        check_answer(ROW, response)


@pytest.mark.parametrize("response", [
    rawhttp.RawResponse(400, {}, b'{"errors": [{"code": "NAME_INVALID", "message": "x"}]}'),
    rawhttp.RawResponse(404, {}, b'{"errors": [{"code": "ANYTHING"}]}'),
    rawhttp.RawResponse(416, {}, b""),
], ids=["listed-code", "any-code", "no-body-needed"])
def test_expected_answers_are_accepted(response):
    check_answer(ROW, response)


def test_raw_requests_are_sent_verbatim():
    request = rawhttp.build("GET", "/v2/a/%2e%2e/../b", {"X": "1"}, b"xy", content_length=99)
    assert request.startswith(b"GET /v2/a/%2e%2e/../b HTTP/1.1\r\n")
    assert b"\r\nContent-Length: 99\r\n" in request and request.endswith(b"\r\n\r\nxy")
