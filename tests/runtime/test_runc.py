"""The bundle pyreg writes is a valid OCI runtime bundle: runc runs it."""
import json
import subprocess

from tests.runtime.conftest import need_root, pyreg
from tests.support.processes import require_binary


def test_runc_accepts_the_bundle(store_root, tmp_path):
    need_root()
    runc = require_binary("runc", "runc")
    bundle = tmp_path / "bundle"
    result = pyreg(store_root, "bundle", "-e", "WHO=runc", "--hostname", "rc-host", "busybox",
                   str(bundle), "sh", "-c", "echo $WHO $$ $(hostname); exit 9")
    assert result.returncode == 0, result.stderr
    spec = json.loads((bundle / "config.json").read_text())
    assert spec["process"]["args"][0] == "sh" and spec["root"]["path"] == "rootfs"
    assert (bundle / "rootfs" / "bin" / "busybox").is_file()
    ran = subprocess.run([runc, "run", "--bundle", str(bundle), f"pyreg-test-{tmp_path.name[-8:]}"],
                         stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert ran.returncode == 9, ran.stderr
    assert ran.stdout == b"runc 1 rc-host\n"


def test_run_with_runc_runtime(store_root):
    need_root()
    require_binary("runc", "runc")
    result = pyreg(store_root, "run", "--rm", "--runtime", "runc", "busybox", "sh", "-c",
                   "echo via runc $$; cat /etc/hostname; exit 4")
    assert result.returncode == 4, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "via runc 1" and len(lines[1]) == 12
    mounts = open("/proc/self/mountinfo").read()
    assert str(store_root) not in mounts, "the rootfs must be unmounted after runc exits"


def test_bundle_refuses_a_nonempty_rootfs(store_root, tmp_path):
    (tmp_path / "rootfs").mkdir()
    (tmp_path / "rootfs" / "keep").write_text("mine")
    result = pyreg(store_root, "bundle", "busybox", str(tmp_path), "true")
    assert result.returncode == 125 and b"not empty" in result.stderr
    assert (tmp_path / "rootfs" / "keep").read_text() == "mine"
