"""A stage's files read from its snapshots without a mount, merged as
overlayfs merges lower layers: whiteouts hide, opaque directories hide
everything below, a file hides a directory below it and the reverse."""
import os

import pytest

from builder.view import LayeredTree
from runtime.fs.whiteout import OPAQUE_XATTR

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts are device nodes; opaque is a trusted xattr")


def layer(root, files):
    root.mkdir(parents=True)
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if content == "whiteout":
            os.mknod(target, 0o600 | 0o020000, 0)
        elif content == "opaque":
            target.mkdir(exist_ok=True)
            os.setxattr(target, OPAQUE_XATTR, b"y")
        elif content is None:
            target.mkdir(exist_ok=True)
        else:
            target.write_text(content)
    return str(root)


@needs_root
def test_the_merged_view_follows_overlayfs(tmp_path):
    bottom = layer(tmp_path / "1", {"a/x": "1", "a/y": "1", "d/f": "1", "n": "file", "gone/deep/f": "1",
                                    "etc/passwd": "root:x:0:0::/root:/bin/sh\n"})
    middle = layer(tmp_path / "2", {"a/x": "whiteout", "d": "opaque", "d/g": "2", "n/z": "2", "gone": "whiteout"})
    top = layer(tmp_path / "3", {"a/x": "3", "gone/new": "3"})
    view = LayeredTree([bottom, middle, top], "stage test")
    listed = [entry.path for entry in view.walk(view.top) if entry.path]
    assert listed == ["a", "a/x", "a/y", "d", "d/g", "etc", "etc/passwd", "gone", "gone/new", "n", "n/z"]
    assert view.read_text("/a/x") == "3" and view.read_text("a/y") == "1"
    assert view.is_directory("/n") and not view.exists("/gone/deep") and not view.exists("/d/f")
    assert view.read_text("/etc/passwd").startswith("root:") and view.read_text("/etc/group") is None
    assert view.digest(view.entry("a/x")) == view.digest(LayeredTree([top], "top").entry("a/x"))


def test_no_layers_is_an_empty_root(tmp_path):
    view = LayeredTree([], "scratch")
    assert view.top.is_dir and list(view.walk(view.top)) == [view.top] and not view.exists("/bin")
