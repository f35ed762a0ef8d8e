"""`pyreg build` of a Dockerfile that uses every instruction: the config it
gives, the files the image holds, the layers RUN wrote (whiteouts, opaque
directories, links, owners, modes), the history, ONBUILD in a child build,
and the image running under `pyreg run`."""
import gzip
import io
import stat
import tarfile

import pytest

from puller.store import LocalStore
from tests.builder.builds import build, cached_steps, pyreg, root, write_context  # noqa: F401 (root: a fixture)
from tests.builder.dockerfiles import CHILD, OTHER_OPTIONS, all_instructions_context
from tests.builder.images import compared, image_config, image_tree

NAME = "all-instructions:1"
EXPECTED_CONFIG = {
    "Env": ["PATH=/bin", "APP_HOME=/srv/app", "MODE=prod mode", "OLD_STYLE=value with spaces"],
    "Cmd": ["echo hello"], "Entrypoint": ["/bin/sh", "-c"], "WorkingDir": "/srv/app/sub", "User": "root",
    "ExposedPorts": {"443/tcp": {}, "53/udp": {}, "80/tcp": {}}, "Volumes": {"/cache": {}, "/data": {}},
    "Labels": {"org.example.title": "all instructions", "version": "1", "multi": "a b", "second": "2"},
    "StopSignal": "SIGUSR1",
    "Healthcheck": {"Test": ["CMD", "/bin/true"], "Interval": 30 * 10**9, "Timeout": 5 * 10**9,
                    "StartPeriod": 2 * 10**9, "Retries": 4},
    "OnBuild": ["RUN echo triggered > /srv/onbuild"], "Shell": ["/bin/sh", "-e", "-c"]}
FILE, DIRECTORY, LINK = stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK


@pytest.fixture
def built(root, tmp_path):
    context = all_instructions_context(tmp_path / "context")
    done = build(root, context, "-t", NAME)
    tree_dir = tmp_path / "tree"
    return root, done, image_tree(root, NAME, tree_dir), tree_dir


def test_the_config_has_every_instruction_in_it(built):
    root, done, _, _ = built
    config = image_config(root, NAME)
    assert compared(config) == EXPECTED_CONFIG
    assert done.stdout.strip() == str(LocalStore(root).resolve_image(NAME)[1].config.digest)
    assert (config["os"], config["architecture"]) == ("linux", "amd64")


def test_the_history_records_each_instruction_and_marks_those_without_a_layer(built):
    root, _, _, _ = built
    config = image_config(root, NAME)
    history = config["history"][1:]                      # the base image's one entry first
    assert len(history) == 35
    with_layers = [entry["created_by"] for entry in history if not entry.get("empty_layer")]
    assert len(with_layers) + 1 == len(config["rootfs"]["diff_ids"])
    assert with_layers[:2] == ["WORKDIR /srv/app", "WORKDIR /srv/app/sub"]     # BuildKit's words
    assert with_layers[-1] == "RUN |1 GREETING=hello /bin/sh -e -c id -u > /tmp/uid && pwd > /tmp/pwd # buildkit"
    empty = [entry["created_by"].split()[0] for entry in history if entry.get("empty_layer")]
    assert set(empty) == {"ARG", "ENV", "LABEL", "EXPOSE", "VOLUME", "SHELL", "USER", "STOPSIGNAL",
                          "HEALTHCHECK", "ONBUILD", "ENTRYPOINT", "CMD"}
    assert with_layers[-5].startswith("RUN |1 GREETING=hello /bin/sh -c mkdir -p /srv/made")
    assert config["created"] == history[-1]["created"]


def entry(tree, path):
    kind, mode, uid, gid, size, detail = tree[path]
    return stat.S_IFMT(kind), mode, uid, gid, size, detail


def test_copy_and_add_follow_dockers_rules(built):
    _, _, tree, files = built
    copied = {path for path in tree if path.startswith("srv/app/sub/files")}
    assert copied == {"srv/app/sub/files", "srv/app/sub/files/keep.log", "srv/app/sub/files/sub",
                      "srv/app/sub/files/sub/deep", "srv/app/sub/files/top-only.tmp"}   # .dockerignore
    assert {path for path in tree if path.startswith("srv/texts/")} == {
        f"srv/texts/{name}.txt" for name in ("a", "b", "owned", "secret")}            # a glob, into a dir/
    assert entry(tree, "srv/owned/owned.txt")[:4] == (FILE, 0o644, 1000, 1000)        # --chown names
    assert entry(tree, "srv/owned")[:4] == (DIRECTORY, 0o755, 1000, 1000)
    assert entry(tree, "srv/owned-numeric.txt")[:4] == (FILE, 0o644, 1000, 50)
    assert entry(tree, "srv/secret.txt")[:2] == (FILE, 0o640)                          # --chmod
    assert (files / "srv/via-link/link-to-a").read_text() == "a\n"                     # a symlink followed
    assert entry(tree, "srv/via-link/link-to-a")[0] == FILE
    for kind in ("gz", "bz2", "xz", "plain"):                                           # ADD unpacks
        assert (files / f"srv/{kind}/inner/file").read_text() == "in\n"
        assert entry(tree, f"srv/{kind}/inner/lnk")[0::5] == (LINK, "file")
    assert (files / "srv/added-a.txt").read_text() == "a\n"                             # ADD of a plain file
    assert entry(tree, "srv/app/sub")[:4] == (DIRECTORY, 0o755, 0, 0)                   # WORKDIR made it


def test_run_steps_see_the_config_and_their_changes_are_kept(built):
    _, _, tree, files = built
    assert (files / "srv/made/words").read_text() == "hello default set\n"
    assert entry(tree, "srv/made/words")[:4] == (FILE, 0o600, 1000, 1000)
    assert entry(tree, "srv/made/symlink")[0::5] == (LINK, "words")
    assert (files / "srv/made/hardlink").read_text() == "hello default set\n"   # a link in the layer (below)
    assert "srv/renamed" not in tree                                                     # deleted
    assert sorted(path for path in tree if path.startswith("home/app")) == ["home/app", "home/app/f"]
    assert entry(tree, "home/app")[:4] == (DIRECTORY, 0o755, 0, 0)                      # replaced
    assert (files / "srv/exec").read_text() == "exec-form\n"
    assert (files / "srv/env").read_text() == "env: prod mode value with spaces hello\n"
    assert (files / "tmp/uid").read_text() == "1000\n" and (files / "tmp/pwd").read_text() == "/srv/app/sub\n"
    for mountpoint in ("etc/hosts", "etc/hostname", "etc/resolv.conf"):                  # the runtime's, not the image's
        assert mountpoint not in tree


def layer_members(root, name):
    store = LocalStore(root)
    _, manifest, _ = store.resolve_image(name)
    for layer in manifest.layers:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(store.layout.read_blob(layer.digest)))) as tar:
            yield tar.getmembers()


def test_run_layers_carry_whiteouts_opaque_directories_and_hard_links(built):
    root = built[0]
    members = {member.name: member for layer in layer_members(root, NAME) for member in layer}
    assert members["srv/.wh.renamed"].size == 0
    assert "home/app/.wh..wh..opq" in members
    first, second = members["srv/made/hardlink"], members["srv/made/words"]   # the first by name has the data
    assert first.isreg() and first.size == 18 and second.islnk() and second.linkname == "srv/made/hardlink"
    assert all(member.uname == member.gname == "" for member in members.values())


def test_onbuild_triggers_run_in_a_child_build_which_does_not_keep_them(built, tmp_path):
    root = built[0]
    child = write_context(tmp_path / "child", CHILD)
    build(root, child, "-t", "child:1")
    tree = image_tree(root, "child:1", tmp_path / "child-tree")
    assert (tmp_path / "child-tree/srv/seen").read_text() == "triggered\n" and "srv/onbuild" in tree
    config = image_config(root, "child:1")
    assert "OnBuild" not in config["config"]
    assert "RUN /bin/sh -e -c echo triggered > /srv/onbuild # buildkit" in [
        entry["created_by"] for entry in config["history"]]


def test_the_image_runs_under_pyreg_run(built):
    root = built[0]
    ran = pyreg(root, "run", "--rm", NAME)
    assert (ran.returncode, ran.stdout) == (0, "hello\n"), ran.stderr
    ran = pyreg(root, "run", "--rm", NAME, "cat /srv/made/words; id -u")
    assert ran.stdout == "hello default set\n0\n", ran.stderr


def test_the_other_options_directives_and_proxy_args(root, tmp_path):
    context = write_context(tmp_path / "other", OTHER_OPTIONS, {"tool.sh": "#!/bin/sh\n"})
    proxy = ("--build-arg", "HTTP_PROXY=http://proxy.invalid:3128")
    build(root, context, "-t", "other:1", *proxy)
    config = image_config(root, "other:1")
    settings = config["config"]
    assert config["author"] == "someone@example.com"
    assert settings["Env"] == ["PATH=/bin", "TARGET=linux/amd64"]
    assert settings["ExposedPorts"] == {"8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}}
    assert settings["Healthcheck"] == {"Test": ["NONE"]} and settings["User"] == "1000:50"
    assert settings["Entrypoint"] == ["/bin/sh", "-c", 'echo "$TARGET"']
    assert settings["Cmd"] == ["/bin/sh", "-c", "ignored"]
    tree = image_tree(root, "other:1", tmp_path / "tree")
    assert entry(tree, "opt/tool.sh")[:4] == (FILE, 0o750, 1000, 50)
    assert (tmp_path / "tree/proxy").read_text() == "proxy=http://proxy.invalid:3128\ncontinued\n"
    assert not any("proxy.invalid" in item["created_by"] for item in config["history"])
    again = build(root, context, "-t", "other:1", "--build-arg", "HTTP_PROXY=http://other.invalid:1")
    assert cached_steps(again) == 11                                 # proxies stay out of the keys
    ran = pyreg(root, "run", "--rm", "other:1")
    assert ran.stdout == "linux/amd64\n", ran.stderr
