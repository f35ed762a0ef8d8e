"""podman against pyreg over plain HTTP: push what it imported, pull it
back into an emptied store with the same digest, and run it with runc."""
from __future__ import annotations

import json
import os

import pytest

from tests.e2e.commands import pyreg, unmount_under
from tests.e2e.images import GREETING
from tests.e2e.peers import Podman

RUN_FLAGS = ["--runtime", "runc", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096",
             "--rm", "--network", "none"]


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("podman")
    try:
        yield Podman(workdir)
    finally:
        unmount_under(workdir)


@pytest.fixture(scope="module")
def podman_pushed(podman, registry, image, tmp_path_factory) -> tuple[str, str]:
    """(reference, digest) of the image podman imported and pushed to pyreg."""
    podman("import", str(image.rootfs_tar), "localhost/e2e/podman:1")
    reference = f"{registry.host}/e2e/podman:1"
    digest_file = tmp_path_factory.mktemp("podman-push") / "digest"
    podman("push", "--tls-verify=false", "--digestfile", str(digest_file),
           "localhost/e2e/podman:1", reference)
    return reference, digest_file.read_text().strip()


def test_push_digest_is_what_pyreg_serves(podman_pushed, registry):
    _reference, digest = podman_pushed
    assert digest.startswith("sha256:")
    assert registry.manifest_digest("e2e/podman", "1") == digest


def test_pull_into_an_empty_store_then_run(podman, podman_pushed):
    reference, digest = podman_pushed
    podman("rmi", "--all", "--force")
    assert podman("images", "--quiet").stdout.strip() == ""
    podman("pull", "--tls-verify=false", reference)
    assert podman("image", "inspect", "--format", "{{.Digest}}", reference).stdout.strip() == digest
    shell = f"echo {GREETING}; ulimit -n; ulimit -u"
    output = podman("run", *RUN_FLAGS, reference, "/bin/sh", "-c", shell).stdout
    assert output.splitlines() == [GREETING, "20000", "4096"]


def test_podman_runs_what_pyreg_pushed(podman, cli_pushed):
    podman("pull", "--tls-verify=false", cli_pushed.reference)
    assert podman("image", "inspect", "--format", "{{.Digest}}",
                  cli_pushed.reference).stdout.strip() == cli_pushed.digest
    output = podman("run", *RUN_FLAGS, cli_pushed.reference, "echo", GREETING).stdout
    assert output == f"{GREETING}\n"


def test_pyreg_pulls_and_runs_what_podman_pushed(podman_pushed, tmp_path):
    reference, digest = podman_pushed
    pyreg(tmp_path, "pull", "-q", reference)
    listed = json.loads(pyreg(tmp_path, "images", "--format", "json").stdout)
    assert [entry["Digest"] for entry in listed] == [digest]
    if os.geteuid() == 0:  # pyreg run has no rootless mode yet
        assert pyreg(tmp_path, "run", "--rm", reference, "echo", GREETING).stdout == f"{GREETING}\n"
