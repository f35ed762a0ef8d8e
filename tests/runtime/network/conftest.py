"""Fixtures for `pyreg run` on bridge networks: each test gets a network
namespace of its own standing in for the host (netplumb's sandbox: the
host's links, addresses, routes and ruleset are checked unchanged after),
a data root of its own with busybox and a web image, and `cli` to drive
the real command line there with the bridge network as the default."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.runtime.conftest import need_root, pyreg
from tests.runtime.netplumb.sandbox import sandbox  # noqa: F401 - a fixture
from tests.support.busybox_image import LayerBuilder, build_busybox_image

WEB_IMAGE = "localhost/web:1"
WEB_CONFIG = {"Cmd": ["httpd", "-f", "-p", "80", "-h", "/www"], "Env": ["PATH=/bin"],
              "ExposedPorts": {"80/tcp": {}}}


class Cli:
    def __init__(self, root):
        self.root = root

    def __call__(self, *args: str, timeout: float = 60, env: dict | None = None):
        return pyreg(self.root, *args, timeout=timeout, env={"PYREG_NETWORK": "", **(env or {})})

    def ok(self, *args: str, **kwargs) -> str:
        result = self(*args, **kwargs)
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode()

    def leases(self) -> list[dict]:
        found = []
        for directory, _, files in os.walk(os.path.join(self.root, "networks")):
            found += [json.load(open(os.path.join(directory, f))) for f in files if f.endswith(".json")
                      and directory.endswith("leases")]
        return found

    def leftovers(self) -> dict:
        """What a container's network leaves on the host once it is gone:
        must be nothing."""
        links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, check=True).stdout)
        ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
        netns = os.path.join(self.root, "netns")
        return {"veths": [l["ifname"] for l in links if l["ifname"].startswith("pyv")],
                "rules": [line.strip() for line in ruleset.splitlines() if "dnat to" in line],
                "leases": [lease["address"] for lease in self.leases()],
                "namespaces": os.listdir(netns) if os.path.isdir(netns) else []}


@pytest.fixture
def cli(sandbox, tmp_path):  # noqa: F811 - the fixture above
    need_root()
    root = tmp_path / "root"
    build_busybox_image(root)
    page = LayerBuilder().dir("www").file("www/index.html", "served by pyreg\n").tar_bytes()
    build_busybox_image(root, WEB_IMAGE, extra_layers=[page], config=WEB_CONFIG)
    tool = Cli(root)
    yield tool
    ids = tool("ps", "-aq").stdout.decode().split()
    if ids:
        tool("rm", "-f", *ids)
    from runtime.netplumb import attach
    attach.sweep(str(root), alive=lambda lease: False)
