"""Racing clients on one upload session: several PATCHes claim the same
offset at once. The spec allows one chunk per offset; every other must get
416, and the session must then hold the prefix plus exactly the winner's
bytes, so finishing with that digest succeeds. Run with one worker and with
two worker processes (sessions live in storage, so workers share them).
"""
from __future__ import annotations

import threading

import pytest

from tests.hostile import rawhttp
from tests.hostile.state import UPLOAD_PREFIX, open_upload, sha256
from tests.support.pyreg_server import pyreg_process

RACERS = 4
CHUNK_SIZE = 1 << 20
TRIALS = 8  # the race is not won the same way every time; one lost trial fails the test


@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def racing_server(request, tmp_path_factory):
    storage = tmp_path_factory.mktemp(f"race-{request.param}")
    with pyreg_process(storage, ["--workers", str(request.param)]) as (url, _process):
        yield url, int(url.rsplit(":", 1)[1])


def _race(port: int, session: str) -> tuple[dict[int, int], list[bytes]]:
    chunks = [bytes([ord("A") + i]) * CHUNK_SIZE for i in range(RACERS)]
    statuses: dict[int, int] = {}
    start = threading.Barrier(RACERS)

    def patch(i: int) -> None:
        request = rawhttp.build("PATCH", session, {"Content-Range": f"10-{9 + CHUNK_SIZE}"}, chunks[i])
        start.wait()
        statuses[i] = rawhttp.exchange(port, request).status

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, chunks


def test_one_chunk_wins_each_offset(racing_server):
    url, port = racing_server
    for trial in range(TRIALS):
        _one_trial(url, port, trial)


def _one_trial(url: str, port: int, trial: int) -> None:
    session = open_upload(url)
    statuses, chunks = _race(port, session)
    winners = [i for i, status in statuses.items() if status == 202]
    assert sorted(statuses.values()) == [202] + [416] * (RACERS - 1), f"trial {trial}: {statuses}"
    progress = rawhttp.exchange(port, rawhttp.build("GET", session))
    assert progress.headers.get("range") == f"0-{9 + CHUNK_SIZE}", f"trial {trial}"
    digest = sha256(UPLOAD_PREFIX + chunks[winners[0]])
    finished = rawhttp.exchange(port, rawhttp.build("PUT", f"{session}?digest={digest}"))
    assert finished.status == 201, f"trial {trial}: {finished.describe()}"
