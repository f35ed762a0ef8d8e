"""Driving `pyreg build` as a user does (the real command line, in a child
process, on a store of its own holding the busybox image), and the contexts
the build tests share."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from puller.store import LocalStore
from tests.support.busybox_image import BUSYBOX, build_busybox_image

REPO = Path(__file__).resolve().parents[2]
CLI = "import sys; from pyreg_cli.main import main; sys.exit(main())"
TIMEOUT = 180


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("RUN steps need root: namespaces and overlayfs")
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox not installed (apt-get install busybox-static)")


@pytest.fixture
def root(tmp_path) -> Path:
    """A store of its own with docker.io/library/busybox:latest."""
    need_root()
    store = tmp_path / "store"
    build_busybox_image(store)
    return store


def pyreg(root: Path, *args: str, input: str | None = None, env: dict | None = None,
          timeout: float = TIMEOUT, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, "--root", str(root), *args], input=input,
                          capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def build(root: Path, context: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """`pyreg build ARGS CONTEXT`, which must succeed; its stdout is the image id."""
    done = pyreg(root, "build", *args, str(context), **kwargs)
    assert done.returncode == 0, f"build failed ({done.returncode}):\n{done.stderr[-4000:]}"
    return done


def refused(root: Path, context: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """`pyreg build` that must fail: exit 1, one `pyreg: ` line first, no traceback."""
    done = pyreg(root, "build", *args, str(context), **kwargs)
    assert done.returncode == 1, f"exited {done.returncode}:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, done.stderr
    return done


def error_of(done: subprocess.CompletedProcess) -> str:
    """The error message: from its `pyreg: ` line to the end."""
    start = done.stderr.rfind("\npyreg: ") + 1
    return done.stderr[start:].removeprefix("pyreg: ").rstrip("\n")


def write_context(path: Path, dockerfile: str, files: dict[str, bytes | str | None] | None = None) -> Path:
    """A context directory: the Dockerfile, and files (None: a directory)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "Dockerfile").write_text(dockerfile)
    for relative, content in (files or {}).items():
        target = path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            target.mkdir(exist_ok=True)
        else:
            target.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def stored_names(root: Path) -> list[str]:
    return [entry.name for entry in LocalStore(root).images()]


def manifest_digest(root: Path, name: str) -> str:
    return str(LocalStore(root).find(name).descriptor.digest)


def cached_steps(done: subprocess.CompletedProcess) -> int:
    return done.stderr.count("--> using the cache")
