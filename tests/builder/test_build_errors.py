"""Bad input to `pyreg build`: each exits 1 with one readable line that
names the file, the line and the instruction where there is one, and no
image gets the requested name."""
import pytest

from tests.builder.builds import error_of, refused, root, stored_names, write_context  # noqa: F401

ROWS = [
    ("a syntax error", "FROM busybox\nCOPY onlyone\n", (),
     "Dockerfile:2: COPY: COPY requires at least two arguments (SOURCE... DEST)"),
    ("an unknown instruction", "FROM busybox\nFROBNICATE x\n", (),
     "Dockerfile:2: unknown instruction: FROBNICATE"),
    ("no FROM", "RUN true\n", (),
     "Dockerfile:1: RUN: no build stage in current context: the first instruction must be FROM "
     "(only ARG may precede it)"),
    ("an empty file", "# nothing\n", (), "Dockerfile: the file has no instructions"),
    ("an unterminated ${", "FROM busybox\nENV A=${B\n", (),
     "Dockerfile:2: ENV: failed to process '${B': syntax error: unterminated ${B: missing '}'"),
    ("a source outside the context", "FROM busybox\nCOPY ../secret /x\n", (),
     "Dockerfile:2: COPY: ../secret: forbidden path outside the build context"),
    ("a source that is not there", "FROM busybox\nCOPY missing.txt /x\n", (),
     "Dockerfile:2: COPY: missing.txt: not found in the build context (or excluded by .dockerignore)"),
    ("a pattern matching nothing", "FROM busybox\nCOPY *.nomatch /x/\n", (),
     "Dockerfile:2: COPY: *.nomatch: no source files match the pattern"),
    ("--from a stage index that does not exist", "FROM busybox\nCOPY --from=3 /bin/sh /x\n", (),
     "Dockerfile:2: COPY: --from=3: invalid stage index 3 (the Dockerfile has 1 stages)"),
    ("--from naming no stage nor a stored image", "FROM busybox AS one\nCOPY --from=onne /bin/sh /x\n",
     ("--pull", "never"),
     "Dockerfile:2: COPY: onne: image 'onne' not found in the local store, and --pull=never forbids "
     "pulling it"),
    ("a base that is not stored", "FROM nothere:1\n", ("--pull=never",),
     "Dockerfile:1: FROM: nothere:1: image 'nothere:1' not found in the local store, and --pull=never "
     "forbids pulling it"),
    ("an unknown --target", "FROM busybox AS a\nFROM busybox AS b\n", ("--target", "c"),
     "target stage 'c' could not be found (named stages: a, b)"),
    ("a user --chown cannot find", "FROM busybox\nCOPY --chown=nobody2 a.txt /a\n", (),
     "Dockerfile:2: COPY: --chown: unknown user 'nobody2' in the image"),
    ("WORKDIR through a file", "FROM busybox\nWORKDIR /etc/passwd/sub\n", (),
     "Dockerfile:2: WORKDIR: /etc/passwd/sub: /etc/passwd is not a directory"),
    ("--push without a registry to push to", "FROM busybox\n", ("--push",),
     "--push needs a -t that names a registry (HOST[:PORT]/NAME[:TAG])"),
    ("an --output it does not know", "FROM busybox\n", ("--output", "tar:/tmp/x"),
     "--output tar:/tmp/x: want oci:DIR or docker-archive:FILE"),
]


@pytest.mark.parametrize("dockerfile, flags, message", [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_bad_input_is_one_line_and_tags_nothing(root, tmp_path, dockerfile, flags, message):
    context = write_context(tmp_path / "ctx", dockerfile, {"a.txt": "a"})
    done = refused(root, context, "-t", "wanted:1", *flags)
    assert error_of(done) == message
    assert "docker.io/library/wanted:1" not in stored_names(root)


def test_a_bad_tag_is_refused_before_anything_runs(root, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox\nRUN touch /ran\n")
    done = refused(root, context, "-t", "Bad Name")
    assert error_of(done).startswith("-t Bad Name: ") and "STEP" not in done.stderr
