"""Session-wide pieces of the end-to-end suite: one `pyreg serve` process
(access log on, so a test can see which requests a client made), one image
built once, and daemons started on first use."""
from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.commands import pyreg
from tests.e2e.daemons import containerd_daemon, docker_daemon
from tests.e2e.images import STORE_REF, E2eImage, build_e2e_image
from tests.support.pyreg_server import pyreg_process

MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json"])


ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/1\.[01]" (?P<status>\d{3}) ')


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int


@dataclass
class PyregRegistry:
    url: str
    storage: Path
    log: Path
    process: subprocess.Popen

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]

    def manifest_digest(self, repository: str, reference: str) -> str:
        """The Docker-Content-Digest pyreg serves for a manifest (HEAD)."""
        request = urllib.request.Request(f"{self.url}/v2/{repository}/manifests/{reference}",
                                         method="HEAD", headers={"Accept": MANIFEST_TYPES})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers["Docker-Content-Digest"]

    def manifest(self, repository: str, reference: str) -> dict:
        request = urllib.request.Request(f"{self.url}/v2/{repository}/manifests/{reference}",
                                         headers={"Accept": MANIFEST_TYPES})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def status(self, path: str, method: str = "HEAD") -> int:
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Accept": MANIFEST_TYPES})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code

    def requests(self) -> list[LoggedRequest]:
        """Every request so far, from pyreg's access log."""
        found = []
        for match in ACCESS_LINE.finditer(self.log.read_text(errors="replace")):
            url = urllib.parse.urlsplit(match["target"])
            query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
            found.append(LoggedRequest(match["method"], url.path, query, int(match["status"])))
        return found


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> PyregRegistry:
    root = tmp_path_factory.mktemp("e2e-registry")
    log = root / "pyreg.log"
    env = {"REGISTRY_LOG_ACCESSLOG_DISABLED": "false"}
    with open(log, "wb") as stderr, \
            pyreg_process(root / "storage", env=env, stderr=stderr) as (url, process):
        yield PyregRegistry(url, root / "storage", log, process)


@pytest.fixture(scope="session")
def image(tmp_path_factory) -> E2eImage:
    return build_e2e_image(tmp_path_factory.mktemp("e2e-image"))


@pytest.fixture(scope="session")
def docker(tmp_path_factory):
    with docker_daemon(tmp_path_factory.mktemp("dockerd")) as client:
        yield client


@pytest.fixture(scope="session")
def ctr(tmp_path_factory):
    with containerd_daemon(tmp_path_factory.mktemp("containerd")) as client:
        yield client


@dataclass(frozen=True)
class CliPush:
    reference: str        # 127.0.0.1:PORT/e2e/cli:1
    digest: str           # what `pyreg push` printed


@pytest.fixture(scope="session")
def cli_pushed(registry, image) -> CliPush:
    """The busybox image pushed once by `pyreg push`, for every peer to pull."""
    reference = f"{registry.host}/e2e/cli:1"
    output = pyreg(image.store, "push", "-q", STORE_REF, reference).stdout
    printed = output.strip().splitlines()[-1]
    assert printed == f"{registry.host}/e2e/cli@{image.store_digest}", output
    return CliPush(reference, str(image.store_digest))
