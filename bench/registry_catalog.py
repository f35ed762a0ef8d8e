"""The catalog and start-up rows of bench/registry.py: pyreg beside
Distribution 2.8.2, the same storage directory served by both.

- catalog page: GET /v2/_catalog?n=100&last=<the middle name>, median of
  `CATALOG_REQUESTS` after a warm-up, at 2,000 and at 10,000 repositories
  laid out on disk in registry:2's layout (nested and flat names mixed);
- start-up: from exec to the first answered GET /v2/, median of
  `STARTUP_RUNS` starts over a storage directory that already exists (a
  restart), pyreg as the README runs it (the venv's `pyreg` command).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY_COUNTS = (2000, 10000)
CATALOG_REQUESTS = 30
STARTUP_RUNS = 7
LINK = b"sha256:" + hashlib.sha256(b"bench").hexdigest().encode()


def repository_names(count: int) -> list[str]:
    """Two thirds nested two levels deep (org/team/app), a third at the top."""
    return [f"org{index % 40:02d}/team{index % 7}/app{index:05d}" if index % 3 else f"app{index:05d}"
            for index in range(count)]


def write_repositories(root: Path, names: list[str]) -> None:
    """What a push leaves that the catalog looks at: a revision and a layer link."""
    hex_ = LINK.decode().split(":")[1]
    base = root / "docker" / "registry" / "v2" / "repositories"
    for name in names:
        for kind in ("_manifests/revisions", "_layers"):
            link = base / name / kind / "sha256" / hex_ / "link"
            link.parent.mkdir(parents=True, exist_ok=True)
            link.write_bytes(LINK)


def catalog_order(names: list[str]) -> list[str]:
    return sorted(names, key=lambda name: name.split("/"))


def _get_ms(port: int, path: str) -> tuple[float, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status}")
    return elapsed, body


def catalog_page_ms(port: int, last: str) -> float:
    path = f"/v2/_catalog?n=100&last={last}"
    for _ in range(3):
        _get_ms(port, path)
    return statistics.median(_get_ms(port, path)[0] for _ in range(CATALOG_REQUESTS))


def check_same_page(ports: dict[str, int], last: str, expected: list[str]) -> None:
    """Both servers answer the same page, the one the layout holds (else the figures compare nothing)."""
    import json
    for name, port in ports.items():
        page = json.loads(_get_ms(port, f"/v2/_catalog?n=100&last={last}")[1])["repositories"]
        if page != expected:
            raise RuntimeError(f"{name} answered another catalog page: {page[:3]}...")


def first_answer_seconds(command: list[str], port: int) -> float:
    """Seconds from exec to the first answered GET /v2/; the server is stopped after."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = started + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/v2/")
                connection.getresponse().read()
                return time.perf_counter() - started
            except OSError:
                if process.poll() is not None or time.perf_counter() > deadline:
                    raise RuntimeError(f"{command[0]} did not answer (exit {process.poll()})") from None
                time.sleep(0.002)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def pyreg_executable() -> list[str]:
    """The venv's `pyreg` launcher next to this interpreter, as the README installs it."""
    launcher = Path(sys.executable).with_name("pyreg")
    return [str(launcher)] if launcher.exists() else [sys.executable, "-m", "pyreg_cli.main"]


def startup_rows(commands: dict[str, object], free_port) -> dict[str, dict[str, float]]:
    """`commands[name](port)` is the command line serving on `port`; each is
    started once to warm the page cache, then STARTUP_RUNS times, alternating."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(STARTUP_RUNS + 1):
        for name, command_for in commands.items():  # alternate, so both see the same machine
            port = free_port()
            seconds = first_answer_seconds(command_for(port), port)
            if run:
                samples[name].append(seconds)
    label = "time to first /v2/ answer after start (ms, lower is better)"
    return {name: {label: statistics.median(values) * 1000} for name, values in samples.items()}


def catalog_rows(work: Path, serve, count: int) -> dict[str, dict[str, float]]:
    """`serve(root)` is a context manager yielding {name: port} for servers over `root`."""
    root = work / f"catalog-{count}"
    names = catalog_order(repository_names(count))
    write_repositories(root, names)
    middle = names[count // 2]
    label = f"catalog page n=100 at {count:,} repos (ms, lower is better)"
    rows: dict[str, dict[str, float]] = {}
    with serve(root) as ports:
        check_same_page(ports, middle, names[count // 2 + 1:count // 2 + 101])
        for _ in range(2):  # alternate rounds; keep each server's best median
            for name, port in ports.items():
                value = catalog_page_ms(port, middle)
                rows.setdefault(name, {})[label] = min(value, rows.get(name, {}).get(label, value))
    shutil.rmtree(root, ignore_errors=True)
    return rows
