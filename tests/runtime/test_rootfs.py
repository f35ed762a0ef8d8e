"""The rootfs: overlay plans within the mount option limit, the copy
fallback's whiteouts and safety, and reading image files without following
links out of the image."""
import os

import pytest

from runtime.fs.rootfs import MAX_MOUNT_DATA, flatten, overlay_options, plan_rootfs, read_image_file
from runtime.fs.whiteout import OPAQUE_XATTR


def snapshot(base, name, files=(), links=(), whiteouts=(), opaque=()):
    path = base / "snapshots" / name
    path.mkdir(parents=True)
    for rel, text in files:
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    for rel, target in links:
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path / rel)
    for rel in whiteouts:
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        os.mknod(path / rel, 0o020000, os.makedev(0, 0))
    for rel in opaque:
        (path / rel).mkdir(parents=True, exist_ok=True)
        os.setxattr(path / rel, OPAQUE_XATTR, b"y")
    return str(path)


def test_overlay_plan_uses_short_relative_paths(tmp_path):
    lowers = [str(tmp_path / "snapshots" / f"{i:064x}") for i in range(3)]
    plan = plan_rootfs(str(tmp_path / "containers" / ("c" * 64)), lowers)
    assert plan.kind == "overlay"
    assert plan_rootfs(str(tmp_path / "containers" / ("c" * 64)), lowers, copy=True).kind == "copy"
    base, data = overlay_options(plan)
    assert base == str(tmp_path / "snapshots")
    assert data.startswith(f"lowerdir={2:064x}:{1:064x}:{0:064x},upperdir=../containers/")


def test_too_many_layers_fall_back_to_copy(tmp_path):
    lowers = [str(tmp_path / "snapshots" / f"{i:064x}") for i in range(MAX_MOUNT_DATA // 60)]
    assert plan_rootfs(str(tmp_path / "containers" / ("c" * 64)), lowers).kind == "copy"


def test_flatten_applies_whiteouts_and_opaque_dirs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("whiteout device nodes and trusted xattrs need root")
    lower = snapshot(tmp_path, "a", files=[("etc/keep", "k"), ("etc/gone", "g"),
                                           ("var/old/x", "x")])
    upper = snapshot(tmp_path, "b", files=[("var/old/new", "n")], whiteouts=["etc/gone"],
                     opaque=["var/old"])
    target = tmp_path / "rootfs"
    target.mkdir()
    flatten([lower, upper], str(target))
    assert sorted(os.listdir(target / "etc")) == ["keep"]
    assert sorted(os.listdir(target / "var" / "old")) == ["new"]


def test_flatten_never_writes_through_a_lower_symlink(tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    (host / "victim").write_text("original")
    lower = snapshot(tmp_path, "a", links=[("etc", str(host))])
    upper = snapshot(tmp_path, "b", files=[("etc/victim", "pwned"), ("etc/extra", "x")])
    target = tmp_path / "rootfs"
    target.mkdir()
    flatten([lower, upper], str(target))
    assert (host / "victim").read_text() == "original"
    assert sorted(os.listdir(host)) == ["victim"]
    assert (target / "etc").is_dir() and not (target / "etc").is_symlink()
    assert (target / "etc" / "victim").read_text() == "pwned"


def test_read_image_file_does_not_follow_links(tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("root:secret-hash")
    lower = snapshot(tmp_path, "a", files=[("etc/passwd", "from lower")])
    upper = snapshot(tmp_path, "b", links=[("etc/group", str(secret))])
    assert read_image_file([lower, upper], "/etc/passwd") == "from lower"
    assert read_image_file([lower, upper], "/etc/group") is None
    linked_dir = snapshot(tmp_path, "c", links=[("etc", str(tmp_path))])
    assert read_image_file([linked_dir], "/etc/shadow") is None


ETC_FILES = {"/etc/hosts": "127.0.0.1\tlocalhost\n", "/etc/hostname": "box\n", "/etc/resolv.conf": ""}


def overlay_plan(tmp_path, lowers):
    from runtime.fs.rootfs import RootfsPlan
    upper = tmp_path / "container" / "upper"
    upper.mkdir(parents=True)
    return RootfsPlan("overlay", str(tmp_path / "container" / "rootfs"), tuple(lowers), str(upper),
                      str(tmp_path / "container" / "work"))


def test_etc_files_are_seeded_into_upper_with_the_image_dirs_attributes(tmp_path):
    from runtime.fs.rootfs import seed_upper
    bottom = snapshot(tmp_path, "a", files=[("etc/passwd", "root:x:0:0::/:/bin/sh\n")])
    top = snapshot(tmp_path, "b", files=[("bin/x", "x")])
    os.chmod(os.path.join(bottom, "etc"), 0o750)
    os.utime(os.path.join(bottom, "etc"), ns=(1_000_000_000, 2_000_000_000))
    plan = overlay_plan(tmp_path, [bottom, top])
    assert seed_upper(plan, ETC_FILES)
    etc = os.path.join(plan.upper, "etc")
    assert sorted(os.listdir(etc)) == ["hostname", "hosts", "resolv.conf"]
    assert open(os.path.join(etc, "hostname")).read() == "box\n"
    info = os.stat(etc)
    assert (info.st_mode & 0o7777, info.st_mtime_ns) == (0o750, 2_000_000_000)


@pytest.mark.parametrize("kind", ["symlink", "whiteout", "missing"])
def test_etc_that_is_not_a_directory_is_left_to_bind_mounts(tmp_path, kind):
    from runtime.fs.rootfs import seed_upper
    bottom = snapshot(tmp_path, "a", files=[("etc/passwd", "x")])
    top = snapshot(tmp_path, "b", links=[("etc", "/etc")] if kind == "symlink" else (),
                   whiteouts=["etc"] if kind == "whiteout" else ())
    lowers = [top] if kind == "missing" else [bottom, top]
    plan = overlay_plan(tmp_path, lowers)
    assert not seed_upper(plan, ETC_FILES)
    assert os.listdir(plan.upper) == []


def test_copy_rootfs_is_never_seeded(tmp_path):
    from runtime.fs.rootfs import RootfsPlan, seed_upper
    bottom = snapshot(tmp_path, "a", files=[("etc/passwd", "x")])
    plan = RootfsPlan("copy", str(tmp_path / "rootfs"), (bottom,))
    assert not seed_upper(plan, ETC_FILES)


def test_throwaway_containers_get_a_volatile_overlay(tmp_path):
    from runtime.fs.rootfs import RootfsPlan
    lowers = [str(tmp_path / "snapshots" / f"{i:064x}") for i in range(2)]
    kept = plan_rootfs(str(tmp_path / "containers" / ("c" * 64)), lowers)
    throwaway = plan_rootfs(str(tmp_path / "containers" / ("d" * 64)), lowers, throwaway=True)
    assert "volatile" not in overlay_options(kept)[1]
    assert overlay_options(throwaway)[1].endswith(",volatile")
    assert RootfsPlan.from_json(throwaway.to_json()) == throwaway
    assert RootfsPlan.from_json({**kept.to_json(), "volatile": None}) == kept  # older state files
