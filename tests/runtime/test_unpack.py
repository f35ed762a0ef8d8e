"""Layer extraction: formats, diff_id verification, metadata, whiteouts, and
every malicious entry we know of, each proving a host file stays untouched."""
import os
import stat

import pytest

from ocispec import mediatypes as mt
from ocispec.descriptor import Descriptor
from ocispec.digest import Digest
from runtime.image.resolve import Layer
from runtime.image.layerstream import LayerFormatError
from runtime import paths
from runtime.image.snapshots import ensure_snapshot
from runtime.fs.beneath import UnsafeEntry
from runtime.fs.whiteout import OPAQUE_XATTR
from tests.support.busybox_image import LayerBuilder, compress

ORIGINAL = b"host data that must survive\n"


def store_layer(root, tar: bytes, media_type=mt.OCI_LAYER_GZIP, diff_id=None) -> Layer:
    from ocispec.layout import OciLayout
    layout = OciLayout(root / "images").init()
    blob = compress(tar, media_type)
    digest = layout.write_blob(blob)
    return Layer(Descriptor(media_type, digest, len(blob)), diff_id or Digest.of_bytes(tar))


@pytest.fixture
def victim(tmp_path):
    """A host file and directory outside the store that layers try to reach."""
    host = tmp_path / "host"
    host.mkdir()
    target = host / "victim"
    target.write_bytes(ORIGINAL)
    return target


def unpack(tmp_path, builder: LayerBuilder, **kwargs):
    root = tmp_path / "store"
    return ensure_snapshot(root, store_layer(root, builder.tar_bytes(), **kwargs))


def assert_untouched(victim, tmp_path):
    assert victim.read_bytes() == ORIGINAL
    assert sorted(p.name for p in victim.parent.iterdir()) == ["victim"]


def assert_no_snapshot(tmp_path):
    leftovers = os.listdir(paths.snapshots(str(tmp_path / "store")))
    assert leftovers == [], "a refused layer must leave no snapshot and no temp dir"


@pytest.mark.parametrize("media_type", [mt.OCI_LAYER_GZIP, mt.OCI_LAYER_ZSTD, mt.OCI_LAYER,
                                        mt.DOCKER_LAYER_GZIP])
def test_formats_extract_and_verify(tmp_path, media_type):
    if media_type == mt.OCI_LAYER_ZSTD:
        from tests.support.processes import require_binary
        require_binary("zstd", "zstd")
    snapshot = unpack(tmp_path, LayerBuilder().dir("a").file("a/b.txt", "hello"),
                      media_type=media_type)
    assert (snapshot / "a" / "b.txt").read_text() == "hello"
    assert snapshot.name == snapshot.name.lower() and len(snapshot.name) == 64


def test_diff_id_mismatch_leaves_nothing(tmp_path):
    builder = LayerBuilder().file("x", "data")
    with pytest.raises(LayerFormatError, match="does not verify: content digest .* does not match"):
        unpack(tmp_path, builder, diff_id=Digest.of_bytes(b"something else"))
    assert_no_snapshot(tmp_path)


def test_corrupt_gzip_is_a_clear_error(tmp_path):
    root = tmp_path / "store"
    from ocispec.layout import OciLayout
    layout = OciLayout(root / "images").init()
    blob = b"\x1f\x8b\x08\x00garbage-not-deflate" * 10
    layer = Layer(Descriptor(mt.OCI_LAYER_GZIP, layout.write_blob(blob), len(blob)),
                  Digest.of_bytes(b""))
    with pytest.raises((LayerFormatError, UnsafeEntry)):
        ensure_snapshot(root, layer)
    assert_no_snapshot(tmp_path)


def test_a_truncated_layer_is_ocispecs_failure_with_the_runtimes_exit_code(tmp_path):
    """The runtime's LayerFormatError is ocispec's (one decompression, one
    failure) and a RuntimeFailure, so `pyreg run` ends with 125."""
    from ocispec import uncompressed
    from runtime.errors import EXIT_SETUP_FAILED, RuntimeFailure
    root = tmp_path / "store"
    from ocispec.layout import OciLayout
    layout = OciLayout(root / "images").init()
    tar = LayerBuilder().file("x", os.urandom(200_000)).tar_bytes()
    blob = compress(tar, mt.OCI_LAYER_GZIP)[:-5000]
    layer = Layer(Descriptor(mt.OCI_LAYER_GZIP, layout.write_blob(blob), len(blob)), Digest.of_bytes(tar))
    with pytest.raises(LayerFormatError, match="is corrupt: the gzip stream is truncated") as caught:
        ensure_snapshot(root, layer)
    assert isinstance(caught.value, uncompressed.LayerFormatError)
    assert isinstance(caught.value, RuntimeFailure) and caught.value.exit_code == EXIT_SETUP_FAILED
    assert_no_snapshot(tmp_path)


def test_metadata_is_kept(tmp_path):
    builder = (LayerBuilder().dir("d", mode=0o750, uid=12, gid=34)
               .file("d/setuid", "x", mode=0o4755, uid=5, gid=6)
               .file("d/attrs", "y", xattrs={"user.color": "blue", "trusted.overlay.opaque": "y",
                                         "user.overlay.opaque": "y"})
               .symlink("d/link", "setuid").hardlink("d/hard", "d/setuid"))
    snapshot = unpack(tmp_path, builder)
    info = os.stat(snapshot / "d" / "setuid")
    assert stat.S_IMODE(info.st_mode) == 0o4755
    if os.geteuid() == 0:
        assert (info.st_uid, info.st_gid) == (5, 6)
    assert info.st_mtime == 1_700_000_000
    assert stat.S_IMODE(os.stat(snapshot / "d").st_mode) == 0o750
    assert os.stat(snapshot / "d").st_mtime == 1_700_000_000
    assert os.readlink(snapshot / "d" / "link") == "setuid"
    assert os.stat(snapshot / "d" / "hard").st_ino == info.st_ino
    assert os.getxattr(snapshot / "d" / "attrs", "user.color") == b"blue"
    with pytest.raises(OSError):  # a tar must never forge overlayfs metadata
        os.getxattr(snapshot / "d" / "attrs", "trusted.overlay.opaque")
    with pytest.raises(OSError):
        os.getxattr(snapshot / "d" / "attrs", "user.overlay.opaque")


def test_whiteouts_become_overlay_marks(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("whiteout device nodes and trusted xattrs need root")
    builder = LayerBuilder().whiteout("etc/gone").opaque("var/cache").file(".wh..wh.plnk", "")
    snapshot = unpack(tmp_path, builder)
    info = os.lstat(snapshot / "etc" / "gone")
    assert stat.S_ISCHR(info.st_mode) and info.st_rdev == 0
    assert os.getxattr(snapshot / "var" / "cache", OPAQUE_XATTR) == b"y"
    assert not (snapshot / ".wh..wh.plnk").exists()
    assert not (snapshot / "etc" / ".wh.gone").exists()


# malicious layers

def test_dotdot_is_refused(tmp_path, victim):
    with pytest.raises(UnsafeEntry, match=r"\.\."):
        unpack(tmp_path, LayerBuilder().file("../../host/victim", "pwned"))
    assert_untouched(victim, tmp_path)
    assert_no_snapshot(tmp_path)


def test_absolute_path_is_contained(tmp_path, victim):
    snapshot = unpack(tmp_path, LayerBuilder().file(str(victim), "pwned"))
    assert_untouched(victim, tmp_path)
    assert (snapshot / str(victim).lstrip("/")).read_text() == "pwned"


@pytest.mark.parametrize("link_target", ["absolute", "relative"])
def test_write_through_symlink_is_refused(tmp_path, victim, link_target):
    target = str(victim.parent) if link_target == "absolute" else "../" * 12 + str(victim.parent)
    builder = LayerBuilder().symlink("evil", target).file("evil/victim", "pwned")
    with pytest.raises(UnsafeEntry, match="symlink"):
        unpack(tmp_path, builder)
    assert_untouched(victim, tmp_path)
    assert_no_snapshot(tmp_path)


def test_file_over_symlink_replaces_the_link(tmp_path, victim):
    snapshot = unpack(tmp_path, LayerBuilder().symlink("evil", str(victim)).file("evil", "pwned"))
    assert_untouched(victim, tmp_path)
    assert not (snapshot / "evil").is_symlink()
    assert (snapshot / "evil").read_text() == "pwned"


def test_symlink_replaced_by_directory(tmp_path, victim):
    builder = (LayerBuilder().symlink("d", str(victim.parent)).dir("d")
               .file("d/victim", "pwned"))
    snapshot = unpack(tmp_path, builder)
    assert_untouched(victim, tmp_path)
    assert (snapshot / "d").is_dir() and not (snapshot / "d").is_symlink()
    assert (snapshot / "d" / "victim").read_text() == "pwned"


@pytest.mark.parametrize("linkname", ["absolute", "dotdot"])
def test_hardlink_outside_is_refused(tmp_path, victim, linkname):
    name = str(victim) if linkname == "absolute" else "../../../host/victim"
    builder = LayerBuilder().hardlink("link", name).file("link", "pwned")
    with pytest.raises(UnsafeEntry):
        unpack(tmp_path, builder)
    assert_untouched(victim, tmp_path)
    assert victim.stat().st_nlink == 1


def test_hardlink_to_symlink_then_written_stays_inside(tmp_path, victim):
    builder = (LayerBuilder().symlink("s", str(victim)).hardlink("h", "s")
               .file("h", "pwned"))
    snapshot = unpack(tmp_path, builder)
    assert_untouched(victim, tmp_path)
    assert (snapshot / "h").read_text() == "pwned"
    assert os.readlink(snapshot / "s") == str(victim)


def test_bad_whiteouts_are_refused(tmp_path, victim):
    with pytest.raises(UnsafeEntry):
        unpack(tmp_path, LayerBuilder().file("dir/.wh..", ""))
    assert_untouched(victim, tmp_path)


def test_not_a_tar_is_refused(tmp_path):
    root = tmp_path / "store"
    garbage = b"this is not a tar archive at all" * 40
    with pytest.raises(UnsafeEntry, match="tar"):
        ensure_snapshot(root, store_layer(root, garbage, media_type=mt.OCI_LAYER))
    assert_no_snapshot(tmp_path)


def test_device_nodes_only_as_root(tmp_path):
    snapshot = unpack(tmp_path, LayerBuilder().chardev("dev/null2", 1, 3))
    if os.geteuid() == 0:
        assert os.stat(snapshot / "dev" / "null2").st_rdev == os.makedev(1, 3)
    else:
        assert not (snapshot / "dev" / "null2").exists()


def test_long_names_via_pax(tmp_path):
    long_name = "/".join(["d" * 60] * 5) + "/file"
    snapshot = unpack(tmp_path, LayerBuilder().file(long_name, "deep"))
    assert (snapshot / long_name).read_text() == "deep"


def test_trailing_bytes_after_tar_count_toward_diff_id(tmp_path):
    tar = LayerBuilder().file("x", "1").tar_bytes() + b"\0" * 4096
    root = tmp_path / "store"
    snapshot = ensure_snapshot(root, store_layer(root, tar, media_type=mt.OCI_LAYER))
    assert (snapshot / "x").read_text() == "1"


def test_concurrent_snapshot_is_reused(tmp_path):
    root = tmp_path / "store"
    layer = store_layer(root, LayerBuilder().file("x", "1").tar_bytes())
    first = ensure_snapshot(root, layer)
    (first / "marker").write_text("kept")
    assert ensure_snapshot(root, layer) == first
    assert (first / "marker").exists()


def test_multi_member_gzip_and_zero_padding(tmp_path):
    import gzip
    tar = LayerBuilder().file("a", "first").file("b", "second").tar_bytes()
    blob = gzip.compress(tar[:1000]) + gzip.compress(tar[1000:]) + b"\0" * 1024
    root = tmp_path / "store"
    from ocispec.layout import OciLayout
    layout = OciLayout(root / "images").init()
    layer = Layer(Descriptor(mt.OCI_LAYER_GZIP, layout.write_blob(blob), len(blob)),
                  Digest.of_bytes(tar))
    snapshot = ensure_snapshot(root, layer)
    assert (snapshot / "a").read_text() == "first" and (snapshot / "b").read_text() == "second"


def test_memory_stays_flat_for_a_large_layer(tmp_path):
    """256 MiB of zeros (a 256 KiB blob): extraction must not hold it in memory."""
    import subprocess
    import sys
    script = f"""
import gzip, hashlib, io, resource, tarfile, sys
sys.path.insert(0, {str(__import__('pathlib').Path(__file__).resolve().parents[2])!r})
from pathlib import Path
from ocispec import mediatypes as mt
from ocispec.descriptor import Descriptor
from ocispec.digest import Digest
from ocispec.layout import OciLayout
from runtime.image.resolve import Layer
from runtime.image.snapshots import ensure_snapshot

class Zeros:
    def read(self, n): return bytes(n)

root = Path({str(tmp_path)!r})
blob_path, diff = root / "layer.gz", hashlib.sha256()
class Tee:
    def __init__(self, raw): self.raw = raw
    def write(self, data): diff.update(data); return self.raw.write(data)
with gzip.open(blob_path, "wb", compresslevel=1) as out:
    with tarfile.open(fileobj=Tee(out), mode="w|") as tar:
        info = tarfile.TarInfo("zeros"); info.size = 256 << 20
        tar.addfile(info, Zeros())
layout = OciLayout(root / "images").init()
digest = Digest.of_bytes(blob_path.read_bytes())
layout.commit_blob(blob_path, digest)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
snapshot = ensure_snapshot(root, Layer(Descriptor(mt.OCI_LAYER_GZIP, digest, 1), Digest("sha256", diff.hexdigest())))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(after - before, (snapshot / "zeros").stat().st_size)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    growth_kib, size = map(int, result.stdout.split())
    assert size == 256 << 20
    assert growth_kib < 32 * 1024, f"peak memory grew by {growth_kib} KiB"
