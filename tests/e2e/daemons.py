"""Daemons the end-to-end tests drive, each isolated under a temp directory:
dockerd (with the containerd it manages) and a standalone containerd.

Neither touches the host's /var/lib or /run: roots, state, sockets and pid
files all live in the directory given. dockerd treats 127.0.0.0/8
registries as insecure on its own, so no daemon.json is needed for
plain-HTTP pushes to pyreg.
"""
from __future__ import annotations

import contextlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.commands import log_tail, run, unmount_under, wait_until
from tests.support.processes import require_binary, terminating

START_TIMEOUT = 40

CONTAINERD_CONFIG = """\
version = 2
root = "{root}/root"
state = "{root}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{socket}.ttrpc"
[debug]
  address = ""
"""


@dataclass
class Docker:
    binary: str
    socket: Path

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run([self.binary, "-H", f"unix://{self.socket}", *args], check=check)


@dataclass
class Ctr:
    binary: str
    socket: Path

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run([self.binary, "--address", str(self.socket), "--namespace", "e2e", *args],
                   check=check)


def _answers(client) -> bool:
    return client("version", check=False).returncode == 0


@contextlib.contextmanager
def _supervised(command: list[str], workdir: Path, log: Path, client, name: str):
    """Start `command`, wait until `client` answers, stop and unmount after."""
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    try:
        with terminating(process):
            if not wait_until(lambda: _answers(client), START_TIMEOUT, name,
                              alive=lambda: process.poll() is None):
                pytest.skip(f"{name} could not start here: {log_tail(log, 8)}")
            yield client
    finally:
        unmount_under(workdir)


def _debian_docker_client() -> str:
    """Debian's client, matching its dockerd, even if another `docker` comes first on PATH."""
    packaged = Path("/usr/bin/docker")
    return str(packaged) if packaged.exists() else require_binary("docker", "docker.io")


@contextlib.contextmanager
def docker_daemon(workdir: Path) -> Iterator[Docker]:
    dockerd = require_binary("dockerd", "docker.io")
    require_binary("containerd", "containerd")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "daemon.json"
    config.write_text(json.dumps({}))
    socket = workdir / "docker.sock"
    command = [dockerd, "--config-file", str(config), "--iptables=false", "--ip-masq=false",
               "--bridge=none", "--storage-driver=overlay2", "--data-root", str(workdir / "data"),
               "--exec-root", str(workdir / "exec"), "-H", f"unix://{socket}",
               "--pidfile", str(workdir / "docker.pid")]
    client = Docker(_debian_docker_client(), socket)
    with _supervised(command, workdir, workdir / "dockerd.log", client, "dockerd") as docker:
        yield docker


@contextlib.contextmanager
def containerd_daemon(workdir: Path) -> Iterator[Ctr]:
    containerd = require_binary("containerd", "containerd")
    workdir.mkdir(parents=True, exist_ok=True)
    socket = workdir / "containerd.sock"
    config = workdir / "config.toml"
    config.write_text(CONTAINERD_CONFIG.format(root=workdir, socket=socket))
    client = Ctr(require_binary("ctr", "containerd"), socket)
    with _supervised([containerd, "--config", str(config)], workdir, workdir / "containerd.log",
                     client, "containerd") as ctr:
        yield ctr
