"""Layer writers: a real overlayfs upper directory and COPY's files, unpacked
again with GNU tar and with pyreg's own unpacker, and checked file by file."""
import contextlib
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tracemalloc

import pytest

from builder.blobs import write_layer
from builder.context import SourceTree
from builder.copylayer import write_copy
from builder.errors import BuildError
from builder.layer import write_upper
from builder.sources import CopyRequest, Owner, select
from builder.tarstream import COMPRESSOR, EMPTY_TAR_DIFF_ID, LayerStream
from ocispec.layout import OciLayout
from runtime.fs.rootfs import flatten
from runtime.image.unpack import LayerExtractor
from tests.builder.contexts import make_tree
from tests.builder.trees import describe

EPOCH = 1_700_000_000
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="overlayfs, mknod and chown need root")


@contextlib.contextmanager
def overlay(lower, upper, work, merged):
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={lower},upperdir={upper},workdir={work}", str(merged)], check=True)
    try:
        yield merged
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def make_lower(root):
    make_tree(root, {"keep": b"kept", "gone": b"deleted", "changed": b"before", "dir/old": b"old",
                     "dir/sub/deep": b"deep", "tree/a": b"a", "bin/tool": b"#!/bin/sh\n"})


def run_step(merged):
    """What a RUN step might do: every kind of change a layer must carry."""
    os.unlink(merged / "gone")
    shutil.rmtree(merged / "dir")
    os.mkdir(merged / "dir")                     # replaced: opaque
    (merged / "dir" / "new").write_bytes(b"fresh")
    (merged / "changed").write_bytes(b"after, longer")
    (merged / "tree" / "b").write_bytes(b"b")    # a new file in a kept directory
    app = merged / "app"
    app.mkdir(mode=0o750)
    (app / "bin").write_bytes(b"\x7fELF" + bytes(range(256)) * 40)
    os.chown(app / "bin", 1000, 1001)
    os.chmod(app / "bin", 0o4755)
    os.link(app / "bin", app / "hard")
    os.symlink("bin", app / "soft")
    os.mkfifo(app / "fifo", 0o600)
    os.mknod(app / "null", 0o666 | 0o020000, os.makedev(1, 3))
    os.setxattr(app / "bin", "user.note", b"kept")
    (merged / "bin" / "tool").chmod(0o700)        # a metadata-only change
    os.utime(merged / "changed", (EPOCH + 10**6, EPOCH + 10**6))


@pytest.fixture
def upper_after_run(tmp_path):
    lower, upper, work, merged = (tmp_path / name for name in ("lower", "upper", "work", "merged"))
    for directory in (upper, work, merged):
        directory.mkdir()
    make_lower(lower)
    with overlay(lower, upper, work, merged):
        run_step(merged)
        expected = describe(merged)
    return lower, upper, expected


def layer_of(upper, tmp_path, name="layer", epoch=EPOCH):
    layout = OciLayout(tmp_path / name).init()
    result = write_layer(layout, lambda stream: write_upper(str(upper), stream), epoch)
    return layout, result


@needs_root
def test_the_upper_directory_becomes_an_oci_layer(upper_after_run, tmp_path):
    lower, upper, expected = upper_after_run
    layout, result = layer_of(upper, tmp_path)
    blob = layout.blob_path(result.digest).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == result.digest.encoded and len(blob) == result.size
    tar_bytes = gzip.decompress(blob)
    assert hashlib.sha256(tar_bytes).hexdigest() == result.diff_id.encoded
    assert not os.listdir(layout.ingest_dir)          # nothing left behind
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as archive:
        members = archive.getmembers()
    names = [m.name for m in members]
    assert names == ["app", "app/bin", "app/fifo", "app/hard", "app/null", "app/soft", "bin", "bin/tool",
                     "changed", "dir", "dir/.wh..wh..opq", "dir/new", ".wh.gone", "tree", "tree/b"]
    by_name = {m.name: m for m in members}
    assert by_name["app/hard"].islnk() and by_name["app/hard"].linkname == "app/bin"
    assert by_name["app/soft"].issym() and by_name["app/soft"].linkname == "bin"
    assert (by_name["app/bin"].mode, by_name["app/bin"].uid, by_name["app/bin"].gid) == (0o4755, 1000, 1001)
    assert by_name["app/bin"].pax_headers["SCHILY.xattr.user.note"] == "kept"
    assert (by_name["app/null"].devmajor, by_name["app/null"].devminor) == (1, 3)
    assert by_name[".wh.gone"].mode == 0 and by_name[".wh.gone"].size == 0
    assert all(m.mtime <= EPOCH for m in members) and all(m.uname == m.gname == "" for m in members)
    # applied over the lower layer as a runtime would, the layer gives back the merged view
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    with open(layout.blob_path(result.digest), "rb") as raw, gzip.open(raw) as stream:
        LayerExtractor(str(unpacked)).extract(stream)
    final = tmp_path / "final"
    final.mkdir()
    flatten([str(lower), str(unpacked)], str(final))
    assert describe(final) == expected


@needs_root
def test_gnu_tar_reads_the_layer_with_links_owners_and_xattrs(upper_after_run, tmp_path):
    _, upper, _ = upper_after_run
    layout, result = layer_of(upper, tmp_path)
    listing = subprocess.run(["tar", "-tvzf", str(layout.blob_path(result.digest))], check=True,
                             capture_output=True, text=True).stdout
    assert "app/hard link to app/bin" in listing and "app/soft -> bin" in listing
    out = tmp_path / "gnu"
    out.mkdir()
    subprocess.run(["tar", "--xattrs", "--xattrs-include=user.*", "--numeric-owner", "-xpzf",
                    str(layout.blob_path(result.digest)), "-C", str(out)], check=True)
    assert os.stat(out / "app" / "hard").st_ino == os.stat(out / "app" / "bin").st_ino
    assert os.stat(out / "app" / "bin").st_mode & 0o7777 == 0o4755
    assert (os.stat(out / "app" / "bin").st_uid, os.stat(out / "app" / "bin").st_gid) == (1000, 1001)
    assert os.getxattr(out / "app" / "bin", "user.note") == b"kept"
    assert (out / ".wh.gone").is_file() and (out / "dir" / ".wh..wh..opq").is_file()


@needs_root
def test_two_writes_of_the_same_tree_give_the_same_digests_and_gzip_has_no_time_or_name(upper_after_run, tmp_path):
    _, upper, _ = upper_after_run
    first_layout, first = layer_of(upper, tmp_path, "one")
    os.utime(upper / "changed", (EPOCH + 5, EPOCH + 5))   # newer than the epoch: clamped either way
    _, second = layer_of(upper, tmp_path, "two")
    assert (first.digest, first.diff_id, first.size) == (second.digest, second.diff_id, second.size)
    head = first_layout.blob_path(first.digest).read_bytes()[:10]
    assert head == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    _, unclamped = layer_of(upper, tmp_path, "three", epoch=None)
    assert unclamped.diff_id != first.diff_id            # without the clamp the times are real


def test_an_empty_layer_has_the_well_known_diff_id(tmp_path):
    (tmp_path / "upper").mkdir()
    _, result = layer_of(tmp_path / "upper", tmp_path)
    assert result.empty and result.diff_id == EMPTY_TAR_DIFF_ID
    assert str(EMPTY_TAR_DIFF_ID) == "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


def test_isal_is_the_compressor():
    assert COMPRESSOR == "isal"


def test_a_failed_write_leaves_nothing_in_the_layout(tmp_path):
    layout = OciLayout(tmp_path / "layout").init()

    def failing(stream):
        raise BuildError("step failed")
    with pytest.raises(BuildError):
        write_layer(layout, failing)
    assert not os.listdir(layout.ingest_dir) and not list(layout.blob_digests())


def copy_layer(tree, request, tmp_path, exists=lambda p: False):
    items = select(tree, request, exists=exists)
    layout = OciLayout(tmp_path / "copy-layout").init()
    result = write_layer(layout, lambda stream: write_copy(tree, items, stream, EPOCH), EPOCH)
    out = tmp_path / "copy-out"
    out.mkdir(exist_ok=True)
    subprocess.run(["tar", "--numeric-owner", "-xpzf", str(layout.blob_path(result.digest)), "-C", str(out)],
                   check=True)
    return out, result


@needs_root
def test_copy_writes_context_files_straight_into_the_layer(tmp_path):
    context = make_tree(tmp_path / "ctx", {"src/a.txt": b"a" * 3000, "src/sub/b": b"b", "src/ln": ("link", "a.txt"),
                                           "skip.log": b"x"})
    (context / "src" / "a.txt").chmod(0o600)
    tree = SourceTree(context)
    out, _ = copy_layer(tree, CopyRequest(("src",), "/opt/app/", chown=Owner(5, 6)), tmp_path)
    assert describe(out) == {
        "opt": (0o040000, 0o755, 5, 6, 0, None), "opt/app": (0o040000, 0o755, 5, 6, 0, None),
        "opt/app/a.txt": (0o100000, 0o600, 5, 6, 3000, hashlib.sha256(b"a" * 3000).hexdigest()[:16]),
        "opt/app/ln": (0o120000, 0o777, 5, 6, 0, "a.txt"),
        "opt/app/sub": (0o040000, 0o755, 5, 6, 0, None),
        "opt/app/sub/b": (0o100000, 0o644, 5, 6, 1, hashlib.sha256(b"b").hexdigest()[:16])}


def test_a_file_that_changed_after_it_was_hashed_fails_the_copy(tmp_path):
    context = make_tree(tmp_path / "ctx", {"f": b"before"})
    tree = SourceTree(context)
    tree.digest(tree.entry("f"))              # the cache key saw this content
    (context / "f").write_bytes(b"BEFORE")    # same size, same inode
    with pytest.raises(BuildError, match="changed while the build was reading it"):
        copy_layer(tree, CopyRequest(("f",), "/f"), tmp_path)


def test_add_unpacks_a_local_archive(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as archive:
        for name, data in (("pkg/", None), ("pkg/lib.so", b"\0lib"), ("../../evil", b"e")):
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    context = make_tree(tmp_path / "ctx", {"bundle.tar.xz": buffer.getvalue()})
    out, _ = copy_layer(SourceTree(context), CopyRequest(("bundle.tar.xz",), "/usr/local", add=True), tmp_path,
                        exists=lambda p: True)
    assert sorted(describe(out)) == ["usr", "usr/local", "usr/local/evil", "usr/local/pkg", "usr/local/pkg/lib.so"]
    assert (out / "usr/local/pkg/lib.so").read_bytes() == b"\0lib"


def test_memory_stays_flat_while_a_large_file_streams(tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    with open(context / "big", "wb") as handle:
        handle.truncate(64 << 20)
    tree = SourceTree(context)
    items = select(tree, CopyRequest(("big",), "/big"))
    tracemalloc.start()
    try:
        with open(tmp_path / "layer.gz", "wb") as out:
            stream = LayerStream(out, EPOCH)
            write_copy(tree, items, stream, EPOCH)
            result = stream.finish()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, peak
    assert result.size < 1 << 20 and result.diff_id != EMPTY_TAR_DIFF_ID
