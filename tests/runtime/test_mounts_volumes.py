"""--tmpfs, --mount and named volumes, side by side with podman: the same
commands, the same outputs; and their bad input, one line, nothing made."""
from __future__ import annotations

import os

import pytest

from tests.runtime.conftest import eventually
from tests.runtime.side_by_side import side_by_side  # noqa: F401 - a fixture

FULL = "dd if=/dev/zero of=/t/x bs=1k count=2000 2>&1 | grep -c 'No space left'"


def test_tmpfs_is_mounted_with_its_size_and_gone_after(side_by_side):
    peers = side_by_side
    script = f"grep ' /t ' /proc/mounts | cut -d' ' -f1,3; {FULL}"
    for flag in (("--tmpfs", "/t:size=1m"), ("--mount", "type=tmpfs,target=/t,tmpfs-size=1m")):
        ours, theirs = peers.both("run", "--rm", *flag, "busybox", "sh", "-c", script)
        assert ours.stdout == theirs.stdout == "tmpfs tmpfs\n1\n", (ours.stderr, theirs.stderr)
    options = peers.pyreg("run", "--rm", "--tmpfs", "/t:size=1m,mode=700", "busybox", "sh", "-c",
                          "grep ' /t ' /proc/mounts; stat -c %a /t").stdout
    assert "size=1024k" in options and "nosuid" in options and "nodev" in options
    assert "noexec" in options  # docker's default; podman's mount leaves it out
    assert options.splitlines()[-1] == "700"
    peers.remove("mv1")
    script = "test -e /t/was && echo tmpfs kept; test -e /was && echo layer kept; " \
             "touch /t/was /was; sleep 30"
    for result in peers.both("run", "-d", "--name", "mv1", "--tmpfs", "/t", "busybox", "sh", "-c", script):
        assert result.returncode == 0, result.stderr
    for run in (peers.pyreg, peers.podman):
        assert eventually(lambda: run("exec", "mv1", "test", "-e", "/t/was").returncode == 0)
        assert run("restart", "-t", "0", "mv1").returncode == 0
        assert eventually(lambda: run("logs", "mv1").stdout == "layer kept\n"), run("logs", "mv1")
    peers.remove("mv1")


def test_named_volumes_persist_are_filled_from_the_image_and_refuse_rm_in_use(side_by_side):
    peers = side_by_side
    peers.remove("mv2")
    for run in (peers.pyreg, peers.podman):
        run("volume", "rm", "-f", "mvol")
        assert run("volume", "create", "mvol").stdout == "mvol\n"
        first = run("run", "--rm", "-v", "mvol:/etc", "busybox", "sh", "-c",
                    "cat /etc/group | head -1; echo mine > /etc/kept")
        assert first.stdout == "root:x:0:\n", first.stderr  # the image's /etc, copied in
        assert run("run", "--rm", "-v", "mvol:/data:ro", "busybox", "sh", "-c",
                   "cat /data/kept; touch /data/no 2>/dev/null || echo read-only").stdout == "mine\nread-only\n"
        assert run("run", "-d", "--name", "mv2", "--mount", "type=volume,source=mvol,target=/v", "busybox",
                   "true").returncode == 0
        refused = run("volume", "rm", "mvol")
        assert refused.returncode != 0 and refused.stderr.count("\n") == 1 and "mvol" in refused.stderr
        assert "in use" in refused.stderr or "being used" in refused.stderr
        assert "mvol" in run("volume", "ls", "-q").stdout.split()
        assert run("rm", "-f", "mv2").returncode == 0
        assert run("volume", "rm", "mvol").returncode == 0
        assert "mvol" not in run("volume", "ls", "-q").stdout.split()
    assert not (peers.root / "volumes" / "mvol").exists()


def test_a_volume_is_made_on_first_use_and_inspected(side_by_side):
    peers = side_by_side
    peers.pyreg("volume", "rm", "-f", "mvfresh")
    assert peers.pyreg("run", "--rm", "-v", "mvfresh:/w", "busybox", "sh", "-c",
                       "echo x > /w/f").returncode == 0
    inspected = peers.pyreg("volume", "inspect", "mvfresh")
    import json
    record = json.loads(inspected.stdout)[0]
    assert record["Name"] == "mvfresh" and record["Driver"] == "local"
    assert open(os.path.join(record["Mountpoint"], "f")).read() == "x\n"
    assert peers.pyreg("volume", "rm", "mvfresh").returncode == 0
    missing = peers.pyreg("volume", "inspect", "mvfresh")
    assert missing.returncode == 1 and missing.stderr == "pyreg: no such volume: mvfresh\n"
    assert peers.pyreg("volume", "rm", "-f", "mvfresh").returncode == 0


@pytest.mark.parametrize("options", [
    ("--tmpfs", "relative"), ("--tmpfs", "/t:size=lots"), ("--tmpfs", "/t:uid=x"),
    ("--tmpfs", "/proc/x"), ("--mount", "type=nfs,target=/x"), ("--mount", "type=tmpfs"),
    ("--mount", "type=bind,source=relative,target=/x"), ("--mount", "type=tmpfs,target=/x,source=y"),
    ("--mount", "type=volume,source=../up,target=/x"), ("--mount", "target=/x,readonly=maybe"),
    ("--mount", "type=bind,source=/nonexistent-pyreg,target=/x"), ("-v", "bad name:/x"),
    ("-v", "vol:/x:rx"), ("--tmpfs", "/same", "-v", "vol:/same"),
])
def test_bad_mounts_are_one_line_and_make_nothing(side_by_side, store_root, options):
    before = sorted(os.listdir(store_root / "containers"))
    volumes = sorted(os.listdir(store_root / "volumes")) if (store_root / "volumes").exists() else []
    result = side_by_side.pyreg("run", "--rm", *options, "busybox", "true")
    assert result.returncode == 125 and result.stderr.count("\n") == 1, result.stderr
    assert sorted(os.listdir(store_root / "containers")) == before
    after = sorted(os.listdir(store_root / "volumes")) if (store_root / "volumes").exists() else []
    assert after == volumes


def test_copy_up_takes_the_image_view_of_the_path(tmp_path):
    """Snapshots as overlayfs lowers: a whiteout or an opaque directory in a
    higher layer hides what is below it; the copy is the merged view."""
    from runtime.volumes.copyup import layers_at
    if os.geteuid() != 0:
        pytest.skip("whiteouts are 0:0 character devices: mknod needs root")
    low, mid, top = (tmp_path / n for n in ("low", "mid", "top"))
    for layer in (low, mid, top):
        (layer / "srv" / "data").mkdir(parents=True)
    (low / "srv" / "data" / "old").write_text("old")
    (mid / "srv" / "data" / "new").write_text("new")
    os.mknod(top / "srv" / "data" / "old", 0o600 | 0o020000, 0)  # a whiteout of old
    assert layers_at([str(low), str(mid), str(top)], "/srv/data") == [
        str(p / "srv" / "data") for p in (low, mid, top)]
    os.setxattr(mid / "srv", "trusted.overlay.opaque", b"y")  # mid hides low's /srv
    assert layers_at([str(low), str(mid), str(top)], "/srv/data") == [
        str(p / "srv" / "data") for p in (mid, top)]
    (top / "srv" / "data" / "old").unlink()
    (top / "srv" / "data").rmdir()
    (top / "srv" / "data").symlink_to("/etc")  # never followed out of the image
    assert layers_at([str(low), str(mid), str(top)], "/srv/data") == []
    assert layers_at([str(low)], "/nowhere") == []
