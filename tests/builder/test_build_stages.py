"""Multi-stage builds: only the stages the target needs are built, FROM an
earlier stage and FROM scratch, COPY --from a stage (by name or index) or
an image, --target, ARG before FROM and build args from the environment."""
import stat

from tests.builder.builds import build, root, write_context  # noqa: F401 (a fixture)
from tests.builder.images import image_config, image_tree

DOCKERFILE = """ARG TOOL=busybox
FROM ${TOOL} AS builder
ARG FLAVOUR
RUN mkdir /out && echo "built $FLAVOUR" > /out/artifact && chown 1000:1000 /out/artifact
FROM builder AS derived
RUN cat /out/artifact > /out/derived
FROM busybox AS unused
RUN exit 1
FROM scratch AS final
COPY --from=derived /out/ /out/
COPY --from=0 /bin/busybox /bin/busybox
COPY --from=busybox /etc/passwd /etc/passwd
CMD ["/bin/busybox", "cat", "/out/artifact"]
"""


def test_only_the_stages_the_target_needs_are_built(root, tmp_path):
    context = write_context(tmp_path / "ctx", DOCKERFILE)
    done = build(root, context, "-t", "multi:1", "--build-arg", "FLAVOUR", env={"FLAVOUR": "from-env"})
    assert "[unused]" not in done.stderr and "[builder]" in done.stderr
    tree = image_tree(root, "multi:1", tmp_path / "tree")
    assert sorted(tree) == ["bin", "bin/busybox", "etc", "etc/passwd", "out", "out/artifact", "out/derived"]
    assert (tmp_path / "tree/out/artifact").read_text() == "built from-env\n"
    assert (tmp_path / "tree/out/derived").read_text() == "built from-env\n"
    kind, mode, uid, gid, _, _ = tree["out/artifact"]
    assert (stat.S_IFMT(kind), uid, gid) == (stat.S_IFREG, 1000, 1000)     # a stage's owners are kept
    assert tree["bin/busybox"][1] == 0o755
    config = image_config(root, "multi:1")
    assert config["config"]["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    assert (config["os"], config["architecture"], len(config["rootfs"]["diff_ids"])) == ("linux", "amd64", 3)


def test_target_builds_one_stage_and_what_it_needs(root, tmp_path):
    context = write_context(tmp_path / "ctx", DOCKERFILE)
    done = build(root, context, "-t", "builder:1", "--target", "derived")
    assert "[final]" not in done.stderr and "[unused]" not in done.stderr
    image_tree(root, "builder:1", tmp_path / "tree")
    assert (tmp_path / "tree/out/derived").read_text() == "built \n"
    assert (tmp_path / "tree/bin/busybox").is_file()
