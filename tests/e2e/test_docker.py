"""Docker (dockerd 20.10 from Debian, with the containerd it manages)
against pyreg: import, push, remove, pull, run; and pull what pyreg pushed."""
from __future__ import annotations

import re

from tests.e2e.images import GREETING
from tests.support.pyreg_server import pyreg_process

PUSHED_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64}) size: \d+")
PULLED_DIGEST = re.compile(r"Digest: (sha256:[0-9a-f]{64})")


def test_push_rmi_pull_run(docker, registry, image):
    reference = f"{registry.host}/e2e/docker:1"
    docker("import", str(image.rootfs_tar), reference)
    pushed = PUSHED_DIGEST.search(docker("push", reference).stdout)
    assert pushed, "docker push printed no digest"
    assert registry.manifest_digest("e2e/docker", "1") == pushed[1]
    docker("rmi", reference)
    assert docker("images", "--quiet", reference).stdout.strip() == ""
    pulled = PULLED_DIGEST.search(docker("pull", reference).stdout)
    assert pulled and pulled[1] == pushed[1]
    output = docker("run", "--rm", "--network", "none", reference, "/bin/echo", GREETING).stdout
    assert output == f"{GREETING}\n"


def test_docker_runs_what_pyreg_pushed(docker, cli_pushed):
    pulled = PULLED_DIGEST.search(docker("pull", cli_pushed.reference).stdout)
    assert pulled and pulled[1] == cli_pushed.digest
    repo_digests = docker("image", "inspect", "--format", "{{json .RepoDigests}}",
                          cli_pushed.reference).stdout
    assert cli_pushed.digest in repo_digests
    output = docker("run", "--rm", "--network", "none", cli_pushed.reference, "echo", GREETING).stdout
    assert output == f"{GREETING}\n"


def test_push_and_pull_through_two_workers(docker, image, tmp_path):
    """Upload sessions live in storage, so POST, PATCH and PUT of one push may
    land on different worker processes."""
    with pyreg_process(tmp_path / "storage", ["--workers", "2"]) as (url, _process):
        reference = f"{url.split('://', 1)[1]}/e2e/workers:1"
        docker("tag", f"{image_reference(docker, image)}", reference)
        pushed = PUSHED_DIGEST.search(docker("push", reference).stdout)
        assert pushed, "docker push printed no digest"
        docker("rmi", reference)
        pulled = PULLED_DIGEST.search(docker("pull", reference).stdout)
        assert pulled and pulled[1] == pushed[1]
        docker("rmi", reference)


def image_reference(docker, image) -> str:
    """A local docker image of the e2e rootfs (imported once per daemon)."""
    name = "localhost/e2e/rootfs:1"
    if docker("image", "inspect", name, check=False).returncode != 0:
        docker("import", str(image.rootfs_tar), name)
    return name
