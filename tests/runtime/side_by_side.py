"""The same container commands through pyreg and podman, for tests that
compare the two: podman with its own storage in a temp directory, runc,
no network, and the busybox image pyreg's tests use (pulled from pyreg's
own OCI layout, so both run the very same layers)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.commands import unmount_under
from tests.e2e.peers import Podman
from tests.runtime.conftest import need_root, pyreg

PODMAN_RUN_FLAGS = ("--runtime", "runc", "--ulimit", "nofile=20000:20000",
                    "--ulimit", "nproc=4096:4096", "--network", "none")
IMAGE = "busybox"
CREATING = ("run", "create")


class SideBySide:
    """`self.pyreg(...)` and `self.podman(...)` take the same arguments; a
    run or create gets podman's flags and the image name each one knows."""

    def __init__(self, root: Path, podman: Podman):
        self.root, self.peer = root, podman

    def pyreg(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        result = pyreg(self.root, *args, **kwargs)
        return subprocess.CompletedProcess(result.args, result.returncode,
                                           result.stdout.decode(), result.stderr.decode())

    def podman(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        if args and args[0] in CREATING:
            args = (args[0], *PODMAN_RUN_FLAGS, *args[1:])
        return self.peer(*args, check=False, **kwargs)

    def both(self, *args: str) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
        return self.pyreg(*args), self.podman(*args)

    def remove(self, *names: str) -> None:
        """Remove the named containers from both, if they are there."""
        for name in names:
            self.pyreg("rm", "-f", name)
            self.podman("rm", "-f", "-t", "0", name)

    def mine(self, name: str) -> dict:
        """pyreg's inspect of one container."""
        result = self.pyreg("inspect", name)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)[0]

    def inspect(self, name: str) -> tuple[dict, dict]:
        ours, theirs = self.both("inspect", name)
        assert ours.returncode == 0 and theirs.returncode == 0, (ours.stderr, theirs.stderr)
        return json.loads(ours.stdout)[0], json.loads(theirs.stdout)[0]


@pytest.fixture(scope="module")
def side_by_side(store_root, tmp_path_factory):
    need_root()
    if shutil.which("podman") is None:
        pytest.skip("podman not installed")
    workdir = tmp_path_factory.mktemp("podman")
    podman = Podman(workdir)
    pulled = podman("pull", "-q", f"oci:{store_root}/images:docker.io/library/busybox:latest")
    podman("tag", pulled.stdout.split()[-1], IMAGE)
    peers = SideBySide(store_root, podman)
    try:
        yield peers
    finally:
        podman("rm", "-a", "-f", "-t", "0", check=False)
        unmount_under(workdir)
