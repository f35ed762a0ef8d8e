"""The bundle pyreg writes is a valid OCI runtime bundle: runc runs it."""
import json
import os
import subprocess

import pytest

from tests.runtime.conftest import eventually, need_root, pyreg
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


def leftovers(runtime: str, container_id: str) -> list[str]:
    """runc's state, cgroup directories and mounts still there for the container."""
    short = container_id[:32]
    found = [f"/run/{runtime}/{short}"] if os.path.exists(f"/run/{runtime}/{short}") else []
    for directory, subdirectories, _ in os.walk("/sys/fs/cgroup"):
        found += [os.path.join(directory, d) for d in subdirectories if short in d]
        if directory.count("/") > 5:
            subdirectories.clear()
    found += [line for line in open("/proc/self/mountinfo") if container_id in line]
    return found


@pytest.mark.parametrize("ending", ["stop", "rm-f"])
def test_runc_containers_leave_nothing(store_root, ending):
    need_root()
    require_binary("runc", "runc")
    name = f"runc-{ending}"
    started = pyreg(store_root, "run", "-d", "--runtime", "runc", "--name", name, "busybox", "sh",
                    "-c", "trap '' TERM; echo up; while true; do sleep 0.1; done")
    assert started.returncode == 0, started.stderr
    container_id = started.stdout.decode().strip()
    assert eventually(lambda: os.path.exists(f"/run/runc/{container_id[:32]}"))
    if ending == "stop":  # TERM is ignored: the grace period runs out, then KILL
        assert pyreg(store_root, "stop", "-t", "0.3", name).returncode == 0
        assert eventually(lambda: not leftovers("runc", container_id), 10), leftovers("runc", container_id)
    assert pyreg(store_root, "rm", "-f", name).returncode == 0
    assert leftovers("runc", container_id) == []
    assert not (store_root / "containers" / container_id).exists()


@pytest.mark.parametrize("runtime", ["runc", "crun"])
def test_delegated_rm_runs_leave_nothing(store_root, runtime):
    """--rm, whether the runtime ran the container or failed to (crun does
    not support this machine's hybrid cgroups): no mount, no directory."""
    need_root()
    require_binary(runtime, runtime)
    before = {p.name for p in (store_root / "containers").iterdir()}
    result = pyreg(store_root, "run", "--rm", "--runtime", runtime, "busybox", "true")
    assert result.returncode in ((0, 1) if runtime == "crun" else (0,)), result.stderr
    after = {p.name for p in (store_root / "containers").iterdir()}
    assert after == before
    assert str(store_root / "containers") not in open("/proc/self/mountinfo").read()
