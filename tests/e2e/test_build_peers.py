"""`pyreg build` beside its peers: the Dockerfile that uses every
instruction (tests/builder/dockerfiles.py) built by docker's engine
(BuildKit) and by buildah gives the config fields and the file tree pyreg's
build gives; and the image pyreg built runs the same under docker, podman
and pyreg."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.builder.builds import build, need_root, pyreg
from tests.builder.dockerfiles import all_instructions_context
from tests.builder.images import archive_tree, compared, differences, image_config, image_tree
from tests.e2e.commands import unmount_under
from tests.e2e.peers import Podman
from tests.e2e.test_podman import RUN_FLAGS
from tests.support.buildah import Buildah
from tests.support.busybox_image import BUSYBOX_REF, build_busybox_image

NAME = "all-instructions:1"
# what buildah adds that docker and pyreg do not: the mountpoints its RUN
# steps left (/run, /etc/hostname) and a directory for each VOLUME
BUILDAH_EXTRAS = {"run", "etc/hostname", "data", "cache"}
COMMAND = "cat /srv/made/words /srv/env /tmp/uid; id -u; pwd; ls /srv/gz/inner; ls /home/app"
OUTPUT = "hello default set\nenv: prod mode value with spaces hello\n1000\n0\n/srv/app/sub\nfile\nlnk\nf\n"


@dataclass(frozen=True)
class Built:
    root: Path
    context: Path
    base_archive: Path     # busybox, as a docker-archive for the peers
    config: dict
    tree: dict


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    need_root()
    work = tmp_path_factory.mktemp("build-peers")
    root = work / "store"
    build_busybox_image(root)
    context = all_instructions_context(work / "context")
    build(root, context, "-t", NAME)
    archive = work / "busybox.tar"
    saved = pyreg(root, "save", "-q", "-o", str(archive), "busybox")
    assert saved.returncode == 0, saved.stderr
    return Built(root, context, archive, image_config(root, NAME), image_tree(root, NAME, work / "tree"))


def test_dockers_buildkit_builds_the_same_config_and_files(docker, built, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_BUILDKIT", "1")
    docker("load", "-i", str(built.base_archive))
    docker("build", "--network", "none", "-t", "built-by-docker:1", str(built.context))
    docker("save", "-o", str(tmp_path / "docker.tar"), "built-by-docker:1")
    config, tree = archive_tree(tmp_path / "docker.tar", tmp_path / "docker")
    assert compared(config) == compared(built.config)
    assert differences(built.tree, tree) == {}


def test_buildah_builds_the_same_config_and_files(built, tmp_path):
    workdir = tmp_path / "buildah"
    try:
        buildah = Buildah(workdir)
        buildah.load(built.base_archive, BUSYBOX_REF)
        buildah.bud(built.context, "localhost/built-by-buildah:1")
        buildah.save("localhost/built-by-buildah:1", tmp_path / "buildah.tar")
    finally:
        unmount_under(workdir)
    config, tree = archive_tree(tmp_path / "buildah.tar", tmp_path / "scratch")
    assert compared(config) == compared(built.config)
    extra = differences(built.tree, tree)
    assert set(extra) == BUILDAH_EXTRAS and all(ours is None for ours, _ in extra.values())


@pytest.fixture
def podman(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("podman")   # short: podman refuses a long runroot
    try:
        yield Podman(workdir)
    finally:
        unmount_under(workdir)


def test_the_image_runs_the_same_under_docker_podman_and_pyreg(docker, podman, registry, built):
    reference = f"{registry.host}/e2e/built:1"
    pushed = pyreg(built.root, "push", "-q", NAME, reference)
    assert pushed.returncode == 0, pushed.stderr
    ran = pyreg(built.root, "run", "--rm", NAME, COMMAND)
    assert (ran.returncode, ran.stdout) == (0, OUTPUT), ran.stderr
    docker("pull", reference)
    assert docker("run", "--rm", "--network", "none", reference, COMMAND).stdout == OUTPUT
    podman("pull", "--tls-verify=false", reference)
    assert podman("run", *RUN_FLAGS, reference, COMMAND).stdout == OUTPUT
