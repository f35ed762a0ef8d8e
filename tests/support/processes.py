"""Start real server processes for tests: free ports, waiting until a URL answers,
and Distribution 2.8.2 (Debian's docker-registry) as a peer."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen | None = None, timeout: float = 20,
                  context: ssl.SSLContext | None = None) -> None:
    """Poll `url` until it answers anything (`context`: how to trust https)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            urllib.request.urlopen(url, timeout=1, context=context).close()
            return
        except urllib.error.HTTPError:
            return  # it answered, even if with 401/404
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def require_binary(name: str, package: str) -> str:
    """The path of a Debian peer, or a skip that says which package provides it."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        pytest.skip(f"{name} not installed (apt-get install {package}; bootstrap.py test does)")
    return path


@contextlib.contextmanager
def terminating(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


DISTRIBUTION_CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
{extra}"""


@contextlib.contextmanager
def distribution_registry(root: Path, extra_config: str = "") -> Iterator[str]:
    """Run CNCF Distribution 2.8.2 on a free port over `root`; yields its base URL."""
    binary = require_binary("docker-registry", "docker-registry")
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    config = root.parent / f"distribution-{port}.yml"
    config.write_text(DISTRIBUTION_CONFIG.format(root=root, port=port, extra=extra_config))
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    with terminating(process):
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/v2/", process)
        yield url
