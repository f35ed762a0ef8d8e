"""The context walker (read once, hashed once, .dockerignore applied) and
COPY/ADD source selection with docker's destination rules."""
import gzip
import io
import os
import tarfile

import pytest

from builder.context import SourceTree
from builder.dockerignore import IgnoreRules
from builder.errors import BuildError
from builder.sources import CopyRequest, Owner, parse_chmod, parse_chown, select
from tests.builder.contexts import make_tree

SPEC = {
    "app.py": b"print('hi')\n", "README.md": b"# readme\n", "notes.md": b"notes\n",
    "src/a.txt": b"a", "src/b.txt": b"b", "src/sub/c.txt": b"c", "src/link": ("link", "a.txt"),
    "docs/keep.md": b"keep", "docs/drop.md": b"drop", "build/out.o": b"\0\1",
    "empty": None, "to_src": ("link", "src"), "escape": ("link", "/../../etc/passwd"),
}


@pytest.fixture
def tree(tmp_path):
    root = make_tree(tmp_path / "ctx", SPEC)
    rules = IgnoreRules.parse("*.md\n!README.md\nbuild\ndocs\n!docs/keep.md\n")
    return SourceTree(root, rules)


def paths(tree, entry=None):
    return [e.path for e in tree.walk(entry or tree.top) if e.path]


def test_the_walk_is_sorted_and_applies_dockerignore(tree):
    assert paths(tree) == ["README.md", "app.py", "docs", "docs/keep.md", "empty", "escape", "src",
                           "src/a.txt", "src/b.txt", "src/link", "src/sub", "src/sub/c.txt", "to_src"]


def test_symlinks_resolve_inside_the_tree(tree):
    assert tree.resolve("to_src/link").path == "src/a.txt"
    assert tree.resolve("escape") is None          # /etc/passwd of the context, which does not exist
    assert tree.resolve("src/../../../app.py").path == "app.py"


def test_each_file_is_hashed_once_per_build_and_the_digest_is_of_content_only(tmp_path):
    root = make_tree(tmp_path / "ctx", {"f": b"one"})
    cache = {}
    first = SourceTree(root, hash_cache=cache)
    entry = first.entry("f")
    digest = first.digest(entry)
    assert digest == "sha256:7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed"
    (root / "f").write_bytes(b"two")
    assert first.digest(entry) == digest           # not read again in this build
    second = SourceTree(root, hash_cache=cache)
    assert second.digest(second.entry("f")) != digest   # the stat changed: hashed afresh
    os.utime(root / "f", (0, 0))
    third = SourceTree(root)
    assert third.digest(third.entry("f")) == second.digest(second.entry("f"))  # mtime is not content


def targets(tree, *sources, dest, is_directory=lambda p: False, exists=lambda p: False, **options):
    request = CopyRequest(tuple(sources), dest, **options)
    return [(item.target, item.entry.path if item.entry else None)
            for item in select(tree, request, is_directory, exists)]


@pytest.mark.parametrize("sources, dest, workdir, expected", [
    (("app.py",), "/dst", "/", [("/dst", "app.py")]),
    (("app.py",), "/dst/", "/", [("/dst", None), ("/dst/app.py", "app.py")]),
    (("app.py",), ".", "/srv/app", [("/srv", None), ("/srv/app", None), ("/srv/app/app.py", "app.py")]),
    (("/app.py",), "rel/", "/w", [("/w", None), ("/w/rel", None), ("/w/rel/app.py", "app.py")]),
    (("src",), "/s", "/", [("/s", None), ("/s/a.txt", "src/a.txt"), ("/s/b.txt", "src/b.txt"),
                          ("/s/link", "src/link"), ("/s/sub", "src/sub"), ("/s/sub/c.txt", "src/sub/c.txt")]),
    (("src/*.txt",), "/t/", "/", [("/t", None), ("/t/a.txt", "src/a.txt"), ("/t/b.txt", "src/b.txt")]),
    (("s?c/s*/c.*",), "/t/", "/", [("/t", None), ("/t/c.txt", "src/sub/c.txt")]),
    (("to_src",), "/l", "/", [("/l", None), ("/l/a.txt", "src/a.txt"), ("/l/b.txt", "src/b.txt"),
                             ("/l/link", "src/link"), ("/l/sub", "src/sub"), ("/l/sub/c.txt", "src/sub/c.txt")]),
    (("src/link",), "/x/", "/", [("/x", None), ("/x/link", "src/a.txt")]),  # a named symlink is followed
    (("empty",), "/e", "/", [("/e", None)]),
    (("docs",), "/d/", "/", [("/d", None), ("/d/keep.md", "docs/keep.md")]),
])
def test_destination_rules(tree, sources, dest, workdir, expected):
    assert targets(tree, *sources, dest=dest, workdir=workdir) == expected


def test_an_existing_directory_takes_the_file_and_existing_parents_are_left_alone(tree):
    assert targets(tree, "app.py", dest="/usr/bin", is_directory=lambda p: p == "/usr/bin",
                   exists=lambda p: p in ("/usr", "/usr/bin")) == [("/usr/bin/app.py", "app.py")]
    # --link writes its parents whatever the image holds
    assert targets(tree, "app.py", dest="/usr/x", exists=lambda p: True, link=True) == [
        ("/usr", None), ("/usr/x", "app.py")]


@pytest.mark.parametrize("sources, dest, message", [
    (("app.py", "README.md"), "/dst", "when copying more than one source file, the destination '/dst' must be a directory"),
    (("src/*.txt",), "/one", "when copying more than one source file, the destination '/one' must be a directory and end with a /"),
    (("nothing*",), "/d/", "nothing\\*: no source files match the pattern"),
    (("missing",), "/d", "missing: not found in the build context"),
    (("notes.md",), "/d", "notes.md: not found in the build context \\(or excluded by .dockerignore\\)"),
    (("build/out.o",), "/d", "build/out.o: not found"),
    (("../outside",), "/d", "../outside: forbidden path outside the build context"),
    (("src/../../x",), "/d", "src/../../x: forbidden path outside the build context"),
    (("escape",), "/d", "escape: not found"),
])
def test_refused_sources(tree, sources, dest, message):
    with pytest.raises(BuildError, match="^" + message):
        targets(tree, *sources, dest=dest)


def test_owners_and_modes(tree, tmp_path):
    (tmp_path / "ctx" / "app.py").chmod(0o751)
    fresh = SourceTree(tmp_path / "ctx")
    (plain,) = select(fresh, CopyRequest(("app.py",), "/a"))
    assert (plain.mode, plain.uid, plain.gid) == (0o751, 0, 0)       # context files belong to root
    kept = select(fresh, CopyRequest(("app.py",), "/a", keep_owners=True))[0]
    assert (kept.uid, kept.gid) == (os.getuid(), os.getgid())         # a stage's files keep theirs
    items = select(fresh, CopyRequest(("src",), "/s/", chown=Owner(7, 8), chmod=0o640))
    assert {(i.target, i.mode, i.uid, i.gid) for i in items if i.target in ("/s", "/s/sub", "/s/a.txt", "/s/link")} == {
        ("/s", 0o755, 7, 8), ("/s/sub", 0o640, 7, 8), ("/s/a.txt", 0o640, 7, 8), ("/s/link", 0o777, 7, 8)}


def test_chown_and_chmod_parsing():
    users, groups = {"app": 1000}.get, {"staff": 50}.get
    assert parse_chown("55", users, groups) == Owner(55, 55)
    assert parse_chown("app:staff", users, groups) == Owner(1000, 50)
    assert parse_chown("app", users, groups) == Owner(1000, 1000)
    assert parse_chown("", users, groups) is None
    with pytest.raises(BuildError, match="unknown group 'nogroup'"):
        parse_chown("1:nogroup", users, groups)
    assert parse_chmod("0755") == 0o755 and parse_chmod("644") == 0o644 and parse_chmod("") is None
    with pytest.raises(BuildError, match="octal modes"):
        parse_chmod("u+x")


def test_add_marks_local_archives_and_refuses_urls(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.addfile(tarfile.TarInfo("x"), io.BytesIO(b""))
    root = make_tree(tmp_path / "ctx", {"plain.tar": buffer.getvalue(), "app.tgz": gzip.compress(buffer.getvalue()),
                                        "text.txt": b"not an archive"})
    tree = SourceTree(root)
    items = select(tree, CopyRequest(("plain.tar", "app.tgz", "text.txt"), "/opt/", add=True), exists=lambda p: True)
    assert [(i.target, i.extract) for i in items] == [("/opt", True), ("/opt/text.txt", False)]
    assert [i.entry.path for i in items if i.extract] == ["app.tgz"]   # later sources win a target
    assert [i.extract for i in select(tree, CopyRequest(("plain.tar",), "/o/"), exists=lambda p: True)] == [False]
    with pytest.raises(BuildError, match="remote sources are not supported"):
        select(tree, CopyRequest(("https://example.com/a.tar",), "/", add=True))
