"""Which cgroup files carry the limits, on v1 (this machine) and v2."""
import os

import pytest

from runtime.inside.cgroups import Cgroups

RESOURCES = {"memory": {"limit": 64 << 20, "swap": 64 << 20},
             "cpu": {"quota": 50_000, "period": 100_000}, "pids": {"limit": 30}}


def test_v2_layout_writes_unified_files(tmp_path):
    """A directory shaped like a cgroup2 mount: the files the kernel reads."""
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids io\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    groups = Cgroups.for_container("c" * 64, root=str(tmp_path))
    assert groups.unified and groups.paths == (str(tmp_path / "pyreg" / ("c" * 64)),)
    (tmp_path / "pyreg").mkdir()
    (tmp_path / "pyreg" / "cgroup.subtree_control").write_text("")
    groups.create(RESOURCES)
    path = tmp_path / "pyreg" / ("c" * 64)
    assert (path / "memory.max").read_text() == str(64 << 20)
    assert (path / "memory.swap.max").read_text() == "0"
    assert (path / "cpu.max").read_text() == "50000 100000"
    assert (path / "pids.max").read_text() == "30"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +cpu +pids"


@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/memory"), reason="no cgroup v1 memory controller")
def test_v1_limits_on_this_machine():
    if os.geteuid() != 0:
        pytest.skip("needs root to make cgroups")
    groups = Cgroups.for_container("d" * 64)
    assert not groups.unified
    groups.create(RESOURCES)
    try:
        memory = next(p for p in groups.paths if "/memory/" in p)
        assert int(open(os.path.join(memory, "memory.limit_in_bytes")).read()) == 64 << 20
        pids = next(p for p in groups.paths if "/pids/" in p)
        assert open(os.path.join(pids, "pids.max")).read().strip() == "30"
        cpu = next(p for p in groups.paths if "/cpu/" in p or "/cpu," in p)
        assert open(os.path.join(cpu, "cpu.cfs_quota_us")).read().strip() == "50000"
    finally:
        groups.remove()
    assert not any(os.path.isdir(p) for p in groups.paths)
