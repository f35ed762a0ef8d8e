"""`pyreg run -p` without root: an unprivileged user's container publishes a
port and reaches out through pasta (as podman does), and without pasta or
slirp4netns on PATH the run stops with one line saying what to install.
In a network namespace of the test's own, with a 0666 /dev/net/tun bound
in a mount namespace (see tests/runtime/netplumb/test_rootless_helpers.py)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest

from tests.runtime.conftest import REPO
from tests.runtime.netplumb.sandbox import http_get
from tests.runtime.netplumb.test_rootless_helpers import AS_NOBODY, NOBODY, SYSTEM_PYTHON, nobody_dir  # noqa: F401
from tests.support.busybox_image import build_busybox_image

CLI = "import sys; sys.path.insert(0, '.'); from pyreg_cli.main import main; sys.exit(main())"


@pytest.fixture
def nobody_root(nobody_dir):  # noqa: F811 - the fixture imported above
    root = os.path.join(nobody_dir, "root")
    build_busybox_image(root)
    for directory, _, files in os.walk(root):
        os.chown(directory, NOBODY, NOBODY)
        for name in files:
            os.chown(os.path.join(directory, name), NOBODY, NOBODY)
    return root


def as_nobody(sandbox, nobody_dir, root, *args, path=None, wait=True):
    with_tun = 'mount --bind "$1" /dev/net/tun && shift && exec "$@"'
    env = {"PATH": path or os.environ["PATH"], "PYREG_NETWORK": ""}
    command = ["unshare", "--mount", "sh", "-c", with_tun, "sh", os.path.join(nobody_dir, "tun"),
               *AS_NOBODY, SYSTEM_PYTHON, "-c", CLI, "--root", root, *args]
    return subprocess.run(command, capture_output=True, timeout=60, cwd=REPO, env=env)


def test_a_rootless_container_publishes_a_port_through_pasta(sandbox, nobody_root, nobody_dir):
    if not shutil.which("pasta"):
        pytest.skip("pasta is not installed (apt-get install passt)")
    sandbox.uplink()  # pasta copies the host's routable interface into the container
    out = as_nobody(sandbox, nobody_dir, nobody_root, "run", "--rm", "busybox", "ip", "-4", "addr")
    assert out.returncode == 0 and "inet 198.51.100.2/24" in out.stdout.decode(), out.stderr
    started = as_nobody(sandbox, nobody_dir, nobody_root, "run", "-d", "--name", "web", "--hostname",
                        "rootless", "-p", "127.0.0.1:18110:80", "busybox", "httpd", "-f", "-p", "80",
                        "-h", "/etc")
    assert started.returncode == 0, started.stderr
    try:
        import socket
        with socket.create_connection(("127.0.0.1", 18110), timeout=5) as sock:
            sock.sendall(b"GET /hostname HTTP/1.0\r\n\r\n")
            answer = b"".join(iter(lambda: sock.recv(65536), b""))
        assert answer.endswith(b"\r\n\r\nrootless\n"), answer
    finally:
        removed = as_nobody(sandbox, nobody_dir, nobody_root, "rm", "-f", "web")
    assert removed.returncode == 0, removed.stderr
    with pytest.raises(AssertionError):  # the helper went with the container
        http_get("127.0.0.1", 18110, timeout=1)


def test_without_a_helper_the_run_says_what_to_install(sandbox, nobody_root, nobody_dir):
    bare = tempfile.mkdtemp(prefix="pyreg-path-")
    for tool in ("sh", "mount", "unshare", "setpriv"):  # what the test itself needs
        os.symlink(shutil.which(tool), os.path.join(bare, tool))
    try:
        result = as_nobody(sandbox, nobody_dir, nobody_root, "run", "--rm", "-p", "18111:80", "busybox",
                           "true", path=bare)
    finally:
        shutil.rmtree(bare)
    assert result.returncode == 125
    assert result.stderr.decode().splitlines() == [
        "pyreg: rootless networking needs pasta or slirp4netns: install one "
        "(apt-get install passt, or apt-get install slirp4netns)"]
    assert as_nobody(sandbox, nobody_dir, nobody_root, "ps", "-aq").stdout == b""
