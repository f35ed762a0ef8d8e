"""Rootless: a non-root user runs a container through a user namespace in
which it is root; overlayfs reads the whiteouts from user.* xattrs."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.runtime.conftest import REPO
from tests.support.busybox_image import LayerBuilder, build_busybox_image

NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"  # readable by nobody, unlike a python under /root
CLI = "import sys; sys.path.insert(0, '.'); from pyreg_cli.main import main; sys.exit(main())"


@pytest.fixture(scope="module")
def rootless_root():
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to the unprivileged user for the test")
    if not shutil.which("setpriv") or not os.path.exists(SYSTEM_PYTHON):
        pytest.skip("needs setpriv (util-linux) and /usr/bin/python3")
    # not under pytest's tmp dir: that one is private to root
    root = Path(tempfile.mkdtemp(prefix="pyreg-rootless-"))
    upper = LayerBuilder().whiteout("etc/group").opaque("home").file("home/new", "n").tar_bytes()
    build_busybox_image(root, extra_layers=[upper])
    for directory, _, files in os.walk(root):
        os.chown(directory, NOBODY, NOBODY)
        for name in files:
            os.chown(os.path.join(directory, name), NOBODY, NOBODY)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def as_nobody(root, *args, timeout=30):
    return subprocess.run(["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                           "--clear-groups", SYSTEM_PYTHON, "-c", CLI, "--root", str(root), *args],
                          capture_output=True, timeout=timeout, cwd=REPO)


def test_rootless_run(rootless_root):
    result = as_nobody(rootless_root, "run", "--rm", "busybox", "sh", "-c",
                       "id -u; echo $$; cat /proc/self/uid_map; ls /etc; echo --; ls /home; exit 6")
    assert result.returncode == 6, result.stderr
    lines = result.stdout.decode().split("--\n")
    uid, pid, *mapping = lines[0].split()[:5]
    assert (uid, pid) == ("0", "1") and mapping[:3] == ["0", str(NOBODY), "1"]
    assert "group" not in lines[0].split() and "passwd" in lines[0].split()
    assert lines[1].split() == ["new"]


def test_rootless_refuses_limits_clearly(rootless_root):
    result = as_nobody(rootless_root, "run", "--rm", "-m", "64m", "busybox", "true")
    assert result.returncode == 125 and b"need root" in result.stderr
    assert result.stderr.count(b"\n") == 1


def test_rootless_detached_and_exec(rootless_root):
    started = as_nobody(rootless_root, "run", "-d", "--name", "rl1", "busybox", "sleep", "30")
    assert started.returncode == 0, started.stderr
    try:
        result = as_nobody(rootless_root, "exec", "rl1", "sh", "-c", "id -u; cat /proc/1/cmdline")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split(b"\n")[0] == b"0" and b"sleep" in result.stdout
    finally:
        assert as_nobody(rootless_root, "rm", "-f", "rl1").returncode == 0


def test_rootless_rm_leaves_nothing(rootless_root):
    result = as_nobody(rootless_root, "run", "--name", "rl2", "busybox", "sh", "-c", "echo x > /f")
    assert result.returncode == 0, result.stderr
    assert as_nobody(rootless_root, "rm", "rl2").returncode == 0
    assert [p for p in (rootless_root / "containers").iterdir() if p.is_dir()] == []


def test_rootless_other_users_fail_with_one_line(rootless_root):
    for user in ("1000", "app", "0:5"):
        result = as_nobody(rootless_root, "run", "--rm", "-u", user, "busybox", "id")
        assert result.returncode == 125 and result.stderr.count(b"\n") == 1, result.stderr
        assert b"only your own user is mapped" in result.stderr
    assert [p for p in (rootless_root / "containers").iterdir() if p.is_dir()] == []
