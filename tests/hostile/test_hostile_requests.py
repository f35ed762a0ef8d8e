"""Every row of the hostile table, sent over a raw socket to a real
`pyreg serve`: the answer is a 4xx (never 5xx) with the spec's OCI error
body where the spec gives one, the server keeps answering, the storage
directory gains no blob, link, manifest or temp file, and any JSON error
body uses only the spec's error codes (checked last).
"""
from __future__ import annotations

import dataclasses
import time

import pytest

from tests.hostile import rawhttp, rows_bodies, rows_framing, rows_paths
from tests.hostile.state import REPO, changes, open_upload, snapshot
from tests.hostile.table import Row, check_answer, check_spec_codes

ROWS = rows_paths.ROWS + rows_bodies.ROWS + rows_framing.ROWS
SETTLE_SECONDS = 5.0  # a hung-up upload is cleaned up once the server notices the EOF
HANG_UP_GRACE = 0.5   # so the check cannot pass merely because the server has not begun


def test_the_table_is_well_formed():
    ids = [row.id for row in ROWS]
    assert len(ids) == len(set(ids)), "row ids must be unique"
    for row in ROWS:
        allowed = {200, 206} | ({202} if row.opens_session else set())
        assert all(400 <= status < 500 or status in allowed for status in row.expect), row.id
        assert row.expect or row.hang_up, f"{row.id}: a row that reads an answer must expect one"


def _assert_alive(server) -> None:
    assert server.process.poll() is None, f"server died:\n{server.log_tail()}"
    answer = rawhttp.exchange(server.port, rawhttp.build("GET", "/v2/"))
    assert answer.status == 200, f"/v2/ after the row: {answer.describe()}"


def _assert_nothing_written(server, before: dict, may_change: str | None) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        found = changes(before, snapshot(server.storage), may_change)
        if not found or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not found, f"storage changed: {found[:10]}"


def _writable(row: Row, seed) -> str | None:
    """The storage prefix a row may write under: its own upload session, or
    (when a refused mount falls back to an upload) the repository's sessions."""
    if row.opens_session:
        return f"docker/registry/v2/repositories/{REPO}/_uploads/"
    if row.touches_upload:
        name, upload_id = seed.upload[len("/v2/"):].split("/blobs/uploads/")
        return f"docker/registry/v2/repositories/{name}/_uploads/{upload_id}/"
    return None


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_hostile_request(row: Row, hostile_server):
    seed = hostile_server.seed
    if row.upload:
        seed = dataclasses.replace(seed, upload=open_upload(hostile_server.url))
    before, log_offset = snapshot(hostile_server.storage), hostile_server.log_size()
    response = rawhttp.exchange(hostile_server.port, row.request(seed), hang_up=row.hang_up)
    try:
        check_answer(row, response)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\nserver log:\n{hostile_server.log_since(log_offset)}") from None
    if row.hang_up:
        time.sleep(HANG_UP_GRACE)  # let the server read the EOF before we look
    _assert_alive(hostile_server)
    _assert_nothing_written(hostile_server, before, _writable(row, seed))
    check_spec_codes(row, response)


def test_seeded_image_survives_the_table(hostile_server):
    """Run last in this module: the seeded tag still serves the same bytes."""
    seed = hostile_server.seed
    answer = rawhttp.exchange(hostile_server.port, rawhttp.build(
        "GET", "/v2/hostile/app/manifests/v1",
        {"Accept": "application/vnd.oci.image.manifest.v1+json"}))
    assert answer.status == 200 and answer.body == seed.manifest
