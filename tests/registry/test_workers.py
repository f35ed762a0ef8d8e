"""Upload sessions live in storage: chunks of one upload may land on
different processes, whether workers of one `pyreg serve --workers 2` or
separate replicas over the same directory."""
from __future__ import annotations

import concurrent.futures
import hashlib
import http.client
import os
import signal
import threading
import time
from pathlib import Path

from tests.support.pyreg_server import pyreg_process, pyreg_server


def call(url: str, method: str, path: str, body: bytes = b"", headers=None):
    """One request on a fresh connection (so the kernel may pick any worker)."""
    host, port = url.split("://", 1)[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def upload_chunks(urls: list[str], repo: str, chunks: list[bytes]) -> str:
    """Start on urls[0], send chunk i to urls[i % len], finish on the last."""
    status, headers, _ = call(urls[0], "POST", f"/v2/{repo}/blobs/uploads/")
    assert status == 202
    location, offset = headers["Location"], 0
    for i, chunk in enumerate(chunks):
        status, headers, body = call(urls[i % len(urls)], "PATCH", location, chunk,
                                     {"Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
        assert status == 202, body
        offset += len(chunk)
        assert headers["Range"] == f"0-{offset - 1}"
    digest = "sha256:" + hashlib.sha256(b"".join(chunks)).hexdigest()
    status, _, body = call(urls[-1], "PUT", f"{location}?digest={digest}")
    assert status == 201, body
    return digest


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def write_syscalls(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise AssertionError("no syscw in /proc/pid/io")


def test_replicas_share_upload_sessions(tmp_path):
    chunks = [os.urandom(50_000 + i) for i in range(6)]
    with pyreg_server(tmp_path / "shared") as first, pyreg_server(tmp_path / "shared") as second:
        digest = upload_chunks([first, second], "team/app", chunks)
        status, headers, body = call(first, "GET", f"/v2/team/app/blobs/{digest}")
        assert status == 200 and body == b"".join(chunks)


def test_two_workers_serve_one_port(tmp_path):
    with pyreg_process(tmp_path / "storage", ["--workers", "2"]) as (url, process):
        deadline = time.monotonic() + 10
        while len(children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = children(process.pid)
        assert len(workers) == 2
        time.sleep(0.3)  # let the second worker finish starting
        before = {pid: write_syscalls(pid) for pid in workers}
        chunks = [os.urandom(10_000) for _ in range(40)]
        digest = upload_chunks([url], "team/app", chunks)
        status, _, body = call(url, "GET", f"/v2/team/app/blobs/{digest}")
        assert status == 200 and body == b"".join(chunks)
        busy = [pid for pid in workers if write_syscalls(pid) > before[pid]]
        assert sorted(busy) == sorted(workers), "every worker should have taken connections"
    assert all(not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
               for pid in workers)


def test_a_crashed_worker_is_replaced(tmp_path):
    with pyreg_process(tmp_path / "storage", ["--workers", "2"]) as (url, process):
        deadline = time.monotonic() + 10
        while len(children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim = children(process.pid)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            current = children(process.pid)
            if len(current) == 2 and victim not in current:
                break
            time.sleep(0.1)
        assert len(current) == 2 and victim not in current
        status, _, _ = call(url, "GET", "/v2/")
        assert status == 200


def _race_one_offset(url: str, location: str, racers: int) -> list[int]:
    chunks = [bytes([65 + i]) * (1 << 20) for i in range(racers)]
    barrier, statuses = threading.Barrier(racers), [0] * racers

    def patch(i: int) -> None:
        barrier.wait()
        statuses[i] = call(url, "PATCH", location, chunks[i],
                           {"Content-Range": f"0-{len(chunks[i]) - 1}"})[0]

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_racing_chunks_across_workers_take_turns(tmp_path):
    """Same offset, four clients, two processes: one chunk lands, the rest get 416,
    and the session then holds exactly the winner's bytes."""
    with pyreg_server(tmp_path / "storage", ["--workers", "2"]) as url:
        for _ in range(4):
            status, headers, _ = call(url, "POST", "/v2/race/blobs/uploads/")
            statuses = _race_one_offset(url, headers["Location"], 4)
            assert sorted(statuses) == [202, 416, 416, 416], statuses
            winner = bytes([65 + statuses.index(202)]) * (1 << 20)
            digest = "sha256:" + hashlib.sha256(winner).hexdigest()
            assert call(url, "PUT", f"{headers['Location']}?digest={digest}")[0] == 201



def _slow_patch(url: str, location: str, halves: list[bytes], paused: threading.Event) -> int:
    """A chunk streamed in two halves with a pause between (chunked encoding)."""
    def body():
        yield halves[0]
        paused.set()
        time.sleep(0.5)
        yield halves[1]
    host, port = url.split("://", 1)[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("PATCH", location, body=body(), encode_chunked=True)
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_chunk_seen_half_written_on_another_replica_is_not_continued(tmp_path):
    """No Content-Range: a racer takes the size it sees. A file grows while it
    is written, so a racer arriving mid-write on another replica sees a
    half-written size; it must get 416, not append into the middle."""
    with pyreg_server(tmp_path / "storage") as first, pyreg_server(tmp_path / "storage") as second:
        _, headers, _ = call(first, "POST", "/v2/race/blobs/uploads/")
        location, paused, head = headers["Location"], threading.Event(), b"0" * 10
        assert call(first, "PATCH", location, head)[0] == 202  # a second chunk is appended in place
        halves = [b"A" * (6 << 20), b"B" * (6 << 20)]  # past the 4 MiB staging buffer
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            slow = pool.submit(_slow_patch, first, location, halves, paused)
            assert paused.wait(10)
            time.sleep(0.2)  # the first half reaches the file
            status, answer, _ = call(second, "PATCH", location, b"C" * (1 << 20))
            assert slow.result() == 202
        assert status == 416 and answer["Range"].startswith("0-")
        whole = head + b"".join(halves)
        digest = "sha256:" + hashlib.sha256(whole).hexdigest()
        assert call(second, "PUT", f"{location}?digest={digest}")[0] == 201
        assert call(first, "GET", f"/v2/race/blobs/{digest}")[2] == whole
