"""The layer cache across builds: an unchanged rebuild reuses every step and
gives the same image, a change invalidates from the first step it touches
(content, mode, build args; not mtimes), --no-cache, `pyreg rmi` leaving the
cache whole, the context's hashes kept on disk, and reproducible images
with --timestamp or SOURCE_DATE_EPOCH."""
import gzip
import io
import os
import tarfile

import pytest

from builder.context import SourceTree
from builder.copylayer import write_copy
from builder.hashes import ContextHashes
from builder.sources import CopyRequest, select
from builder.tarstream import LayerStream
from puller.store import LocalStore
from tests.builder.builds import (build, cached_steps, manifest_digest, pyreg, root,  # noqa: F401
                                  write_context)
from tests.builder.images import image_config

DOCKERFILE = """FROM busybox
ARG FLAVOUR=plain
RUN echo one > /one
COPY a.txt /a.txt
RUN cat /a.txt > /copy && echo $FLAVOUR > /flavour
ENV X=1
"""
STEPS = 5


@pytest.fixture
def context(tmp_path):
    return write_context(tmp_path / "ctx", DOCKERFILE, {"a.txt": "first\n"})


def test_an_unchanged_rebuild_reuses_every_step_and_gives_the_same_image(root, context):
    first = build(root, context, "-t", "cached:1")
    assert cached_steps(first) == 0
    digest = manifest_digest(root, "cached:1")
    again = build(root, context, "-t", "cached:1")
    assert cached_steps(again) == STEPS and again.stdout == first.stdout
    assert manifest_digest(root, "cached:1") == digest


def test_a_change_invalidates_from_the_first_step_it_touches(root, context):
    build(root, context, "-t", "cached:1")
    os.utime(context / "a.txt", (1, 1))                          # mtime only: nothing changes
    assert cached_steps(build(root, context, "-t", "cached:1")) == STEPS
    (context / "a.txt").chmod(0o600)                             # a mode: from the COPY on
    assert cached_steps(build(root, context, "-t", "cached:1")) == 2
    (context / "a.txt").write_text("second\n")                   # content: from the COPY on
    assert cached_steps(build(root, context, "-t", "cached:1")) == 2
    assert cached_steps(build(root, context, "-t", "cached:1", "--build-arg", "FLAVOUR=spicy")) == 0


def test_no_cache_runs_every_step_again(root, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox\nRUN date +%s%N > /now\n")
    build(root, context, "-t", "clock:1")
    digest = manifest_digest(root, "clock:1")
    rebuilt = build(root, context, "-t", "clock:1", "--no-cache")
    assert cached_steps(rebuilt) == 0 and manifest_digest(root, "clock:1") != digest


def test_rmi_and_its_garbage_collection_leave_the_cache_whole(root, context):
    build(root, context, "-t", "cached:1")
    digest = manifest_digest(root, "cached:1")
    removed = pyreg(root, "rmi", "cached:1")
    assert removed.returncode == 0 and "Deleted 2 unreferenced blobs" in removed.stdout   # config, manifest
    again = build(root, context, "-t", "cached:1")
    assert cached_steps(again) == STEPS and manifest_digest(root, "cached:1") == digest
    ran = pyreg(root, "run", "--rm", "cached:1", "cat", "/copy", "/flavour")
    assert ran.stdout == "first\nplain\n", ran.stderr


def test_the_contexts_hashes_are_kept_on_disk_and_a_cold_copy_hashes_while_it_writes(tmp_path, monkeypatch):
    context = write_context(tmp_path / "ctx", "", {"big": os.urandom(3 << 20), "small": "s"})
    monkeypatch.setattr(SourceTree, "_hash", lambda self, entry: pytest.fail(f"{entry.path} read to hash it"))
    tree = SourceTree(context, hash_cache=ContextHashes(tmp_path / "store"))
    items = select(tree, CopyRequest(("big", "small"), "/in/"))
    with open(tmp_path / "layer", "wb") as out:
        write_copy(tree, items, LayerStream(out), 0)             # reads each file once, hashing it
    digest = tree.known_digest(tree.entry("big"))
    assert digest is not None and tree.digest(tree.entry("big")) == digest
    tree.hash_cache.save()
    later = SourceTree(context, hash_cache=ContextHashes(tmp_path / "store"))
    assert later.digest(later.entry("big")) == digest            # from the disk, not from the file
    (context / "big").write_bytes(b"changed")
    monkeypatch.undo()
    changed = SourceTree(context, hash_cache=ContextHashes(tmp_path / "store"))
    assert changed.digest(changed.entry("big")) != digest        # a write moved the stat: read again


def layer_times(root, name):
    store = LocalStore(root)
    for layer in store.resolve_image(name)[1].layers[1:]:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(store.layout.read_blob(layer.digest)))) as tar:
            yield from (member.mtime for member in tar.getmembers())


def test_two_builds_with_the_same_timestamp_give_the_same_image(root, context, tmp_path):
    other = tmp_path / "other-machine"
    from tests.support.busybox_image import build_busybox_image
    build_busybox_image(other)
    epoch = "1700000000"
    build(root, context, "-t", "repro:1", "--timestamp", epoch)
    os.utime(context / "a.txt", (1_800_000_000, 1_800_000_000))  # checked out again, later
    build(other, context, "-t", "repro:1", "--no-cache", env={"SOURCE_DATE_EPOCH": epoch})
    assert manifest_digest(root, "repro:1") == manifest_digest(other, "repro:1")
    config = image_config(root, "repro:1")
    assert config["created"] == "2023-11-14T22:13:20Z"
    assert {entry["created"] for entry in config["history"][1:]} == {"2023-11-14T22:13:20Z"}
    assert max(layer_times(root, "repro:1")) <= int(epoch)
    build(root, context, "-t", "repro:2")                          # no timestamp: another image
    assert manifest_digest(root, "repro:2") != manifest_digest(root, "repro:1")
