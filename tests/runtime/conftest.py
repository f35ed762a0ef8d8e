"""Fixtures for runtime tests: a store with the busybox image, and a way to
drive the real `pyreg` command line against it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.busybox_image import BUSYBOX, build_busybox_image

REPO = Path(__file__).resolve().parents[2]
CLI = "import sys; from pyreg_cli.main import main; sys.exit(main())"


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: namespaces, mounts and cgroups")
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox not installed (apt-get install busybox-static)")


@pytest.fixture(scope="session")
def store_root(tmp_path_factory) -> Path:
    """A pyreg root holding docker.io/library/busybox:latest, shared by the
    container tests (each container gets its own directory in it)."""
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox not installed (apt-get install busybox-static)")
    root = tmp_path_factory.mktemp("pyreg-root")
    build_busybox_image(root)
    return root


def eventually(condition, timeout: float = 5) -> bool:
    """Poll instead of a fixed sleep: a loaded CI machine may need longer."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def loaded_modules(*args: str) -> set[str]:
    """The modules `python -X importtime ARGS` loads."""
    result = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in result.stderr.decode().splitlines()
            if line.startswith("import time:")}


def pyreg(root: Path, *args: str, input: bytes | None = None, timeout: float = 30,
          env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the pyreg command line as a user would, in a child process."""
    return subprocess.run([sys.executable, "-c", CLI, "--root", str(root), *args], input=input,
                          capture_output=True, timeout=timeout, cwd=REPO,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def run(store_root):
    """run(*args) -> CompletedProcess of `pyreg run --rm busybox *args`."""
    need_root()

    def run_busybox(*args: str, options: tuple[str, ...] = (), **kwargs):
        return pyreg(store_root, "run", "--rm", *options, "busybox", *args, **kwargs)
    return run_busybox
