"""Rootless networking for real: an unprivileged user's container (a user
and network namespace of its own) gets a published port through pasta or
slirp4netns, started by the function pyreg's supervisor will call, and the
helper ends with its holder, even one killed by kill -9.

Both helpers open /dev/net/tun, which Debian's udev makes 0666; on a
machine without udev it is 0600, so the holder gets a 0666 node of the same
device bind-mounted there, in a mount namespace of its own."""
from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import tempfile

import pytest

from tests.runtime.conftest import REPO
from tests.runtime.netplumb.sandbox import http_get, wait_until

NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"  # readable by nobody, unlike a python under /root
AS_NOBODY = ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups"]
HOLDER = """
import sys
sys.path.insert(0, {repo!r})
from runtime.netplumb import ports, rootless
name = {helper!r}
network = rootless.start({pid}, [ports.parse("127.0.0.1:{port}:80")], workdir={workdir!r},
                         helper=rootless.Helper(name, rootless.shutil.which(name)))
print(network.process.pid, flush=True)
sys.stdin.read()
network.stop()
"""


@pytest.fixture
def nobody_dir():
    if not shutil.which("setpriv") or not os.path.exists(SYSTEM_PYTHON):
        pytest.skip("needs setpriv (util-linux) and /usr/bin/python3")
    directory = tempfile.mkdtemp(prefix="pyreg-rootless-net-")
    os.chmod(directory, 0o755)
    with open(os.path.join(directory, "index.html"), "w") as handle:
        handle.write("rootless\n")
    os.chown(directory, NOBODY, NOBODY)
    os.mknod(os.path.join(directory, "tun"), 0o666 | stat.S_IFCHR, os.makedev(10, 200))
    os.chmod(os.path.join(directory, "tun"), 0o666)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def rootless_container(sandbox, www: str) -> subprocess.Popen:
    """busybox httpd as root of a user namespace that nobody owns."""
    serve = f"ip link set lo up && exec busybox httpd -f -p 80 -h {www}"
    process = sandbox.spawn(*AS_NOBODY, "unshare", "--user", "--map-root-user", "--net", "sh", "-c", serve)
    own = os.stat("/proc/thread-self/ns/net").st_ino
    wait_until(lambda: os.stat(f"/proc/{process.pid}/ns/net").st_ino != own, "the container's namespace")
    return process


def start_holder(sandbox, helper: str, pid: int, port: int, workdir: str):
    code = HOLDER.format(repo=str(REPO), helper=helper, pid=pid, port=port, workdir=workdir)
    with_tun = 'mount --bind "$1" /dev/net/tun && shift && exec "$@"'
    holder = sandbox.spawn("unshare", "--mount", "sh", "-c", with_tun, "sh", os.path.join(workdir, "tun"),
                           *AS_NOBODY, SYSTEM_PYTHON, "-c", code, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = holder.stdout.readline()
    assert line, holder.communicate(timeout=15)[1].decode()
    return holder, int(line)


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("helper", ["pasta", "slirp4netns"])
def test_a_rootless_container_publishes_a_port(sandbox, nobody_dir, helper):
    if not shutil.which(helper):
        pytest.skip(f"{helper} is not installed (apt-get install {'passt' if helper == 'pasta' else helper})")
    sandbox.uplink()  # pasta copies the host's routable interface into the container
    container = rootless_container(sandbox, nobody_dir)
    holder, helper_pid = start_holder(sandbox, helper, container.pid, 18100, nobody_dir)
    assert http_get("127.0.0.1", 18100) == "rootless\n"
    holder.stdin.close()
    assert holder.wait(timeout=15) == 0
    wait_until(lambda: gone(helper_pid), f"{helper} to stop")
    assert sorted(os.listdir(nobody_dir)) == ["index.html", "tun"]  # its pid file or socket removed

    holder, helper_pid = start_holder(sandbox, helper, container.pid, 18101, nobody_dir)
    assert http_get("127.0.0.1", 18101) == "rootless\n"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    wait_until(lambda: gone(helper_pid), f"{helper} to end with its killed holder")
    with pytest.raises(AssertionError):
        http_get("127.0.0.1", 18101, timeout=1)
