"""A real `pyreg serve` stopping and logging: `http.draintimeout` lets an
upload in flight at SIGTERM finish (and without it, SIGTERM stops at once);
`log.level`, `log.formatter`, `log.fields` and the access log."""
from __future__ import annotations

import hashlib
import json
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.support.pyreg_server import pyreg_process

BODY = b"x" * 200_000


def start_patch(url: str) -> tuple[socket.socket, str]:
    """An upload session, and a PATCH of BODY sent up to its last 1000 bytes."""
    start = urllib.request.urlopen(urllib.request.Request(f"{url}/v2/team/app/blobs/uploads/", method="POST"))
    location = start.headers["Location"]
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(BODY)}\r\n"
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + BODY[:-1000])
    return sock, location


def wait_for_writer(storage, location: str, deadline: float = 20) -> None:
    """Until the PATCH's handler has opened its write (its temporary file exists)."""
    session = storage / "docker/registry/v2/repositories/team/app/_uploads" / location.rsplit("/", 1)[1]
    end = time.monotonic() + deadline
    while not list(session.glob(".pyreg-tmp-*")):
        assert time.monotonic() < end, "the PATCH never reached its handler"
        time.sleep(0.01)


def wait_until_refused(port: int, process: subprocess.Popen, deadline: float = 20) -> None:
    """Until the server stops accepting (or exits)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.02)
    if process.poll() is None:
        raise AssertionError("the server kept accepting after SIGTERM")


def read_answer(sock: socket.socket) -> bytes:
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer:
                break
    except OSError:
        pass
    return answer


def test_an_upload_in_flight_at_sigterm_completes_within_the_drain_time(tmp_path):
    env = {"REGISTRY_HTTP_DRAINTIMEOUT": "30s"}
    with pyreg_process(tmp_path / "s", env=env) as (url, process):
        sock, location = start_patch(url)
        wait_for_writer(tmp_path / "s", location)
        process.send_signal(signal.SIGTERM)
        wait_until_refused(int(url.rsplit(":", 1)[1]), process)
        sock.sendall(BODY[-1000:])
        answer = read_answer(sock)
        assert answer.startswith(b"HTTP/1.1 202"), answer[:200]
        assert b"Range: 0-%d" % (len(BODY) - 1) in answer
        process.wait(timeout=30)
    upload_id = location.rsplit("/", 1)[1]
    data = tmp_path / "s/docker/registry/v2/repositories/team/app/_uploads" / upload_id / "data"
    assert hashlib.sha256(data.read_bytes()).digest() == hashlib.sha256(BODY).digest()


def test_without_a_drain_time_sigterm_stops_at_once(tmp_path):
    with pyreg_process(tmp_path / "s") as (url, process):
        sock, location = start_patch(url)
        wait_for_writer(tmp_path / "s", location)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)  # not aiohttp's own default of 60 s: nothing is drained
        answer = read_answer(sock)
        assert not answer.startswith(b"HTTP/1.1 2"), answer[:200]
    session = tmp_path / "s/docker/registry/v2/repositories/team/app/_uploads" / location.rsplit("/", 1)[1]
    assert sorted(path.name for path in session.iterdir()) == ["startedat"]  # the cut chunk was undone


@pytest.mark.parametrize("level", ["info", "error"])
def test_json_log_lines_with_fields_and_access_log(tmp_path, level):
    log = tmp_path / "stderr"
    env = {"REGISTRY_LOG_FORMATTER": "json", "REGISTRY_LOG_LEVEL": level,
           "REGISTRY_LOG_FIELDS_SERVICE": "registry", "REGISTRY_LOG_ACCESSLOG_DISABLED": "false"}
    with open(log, "wb") as stderr, pyreg_process(tmp_path / "s", env=env, stderr=stderr) as (url, _p):
        urllib.request.urlopen(f"{url}/v2/").read()
        deadline = time.monotonic() + 10
        while b"/v2/ HTTP/1.1" not in log.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert entries and all(entry["service"] == "registry" for entry in entries)
    assert any('"GET /v2/ HTTP/1.1" 200' in entry["msg"] for entry in entries), entries
    announced = [entry for entry in entries if entry["msg"].startswith("serving the registry")]
    assert len(announced) == (1 if level == "info" else 0)
    assert {entry["level"] for entry in entries} <= ({"info"} if level == "info" else {"info", "error"})
