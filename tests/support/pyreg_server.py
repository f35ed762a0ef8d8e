"""Run `pyreg serve` as a real process for tests and benchmarks:

    with pyreg_server(tmp_path / "registry") as url:   # e.g. http://127.0.0.1:40123
        ...

Extra command-line arguments (e.g. ["--workers", "2"]) and environment
variables (REGISTRY_*) can be passed; the process is stopped on exit.
"""
from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Sequence

from tests.support.processes import free_port, terminating, wait_for_http

REPO_ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def pyreg_server(storage: Path | str | None, args: Sequence[str] = (), env: dict | None = None,
                 port: int | None = None, stderr=subprocess.DEVNULL) -> Iterator[str]:
    """Start `python -m pyreg_cli.main serve` over `storage` (a directory, or
    None to take the storage from a `--config` in args); yields its base URL."""
    with pyreg_process(storage, args, env, port, stderr) as (url, _process):
        yield url


@contextlib.contextmanager
def pyreg_process(storage: Path | str | None, args: Sequence[str] = (), env: dict | None = None,
                  port: int | None = None, stderr=subprocess.DEVNULL,
                  context: ssl.SSLContext | None = None,
                  host: str = "127.0.0.1") -> Iterator[tuple[str, subprocess.Popen]]:
    """Like pyreg_server, but yields (url, process) for tests that inspect the
    process; with `context` (how the test trusts it), the server speaks https;
    `host` is a loopback address ("[::1]" for IPv6)."""
    port = port or free_port()
    command = [sys.executable, "-m", "pyreg_cli.main", "serve", "--addr", f"{host}:{port}"]
    if storage is not None:
        Path(storage).mkdir(parents=True, exist_ok=True)
        command += ["--storage", str(storage)]
    command += list(args)
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")]))
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=environment,
                               stdout=subprocess.DEVNULL, stderr=stderr)
    with terminating(process):
        url = f"{'https' if context else 'http'}://{host}:{port}"
        wait_for_http(f"{url}/v2/", process, context=context)
        yield url, process
