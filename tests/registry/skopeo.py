"""Driving Debian's skopeo against a registry on 127.0.0.1 (plain HTTP)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.processes import require_binary

POLICY = {"default": [{"type": "insecureAcceptAnything"}]}


class Skopeo:
    def __init__(self, workdir: Path):
        self.binary = require_binary("skopeo", "skopeo")
        self.policy = workdir / "policy.json"
        self.policy.write_text(json.dumps(POLICY))

    def run(self, *args: str) -> str:
        result = subprocess.run([self.binary, "--policy", str(self.policy), *args],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def push(self, layout: Path, tag: str, url: str, repo: str) -> None:
        self.run("copy", "--dest-tls-verify=false", f"oci:{layout}:{tag}",
                 f"docker://{_host(url)}/{repo}:{tag}")

    def pull(self, url: str, repo: str, tag: str, layout: Path) -> None:
        self.run("copy", "--src-tls-verify=false", f"docker://{_host(url)}/{repo}:{tag}",
                 f"oci:{layout}:{tag}")

    def raw_manifest(self, url: str, reference: str) -> bytes:
        return self.run("inspect", "--tls-verify=false", "--raw",
                        f"docker://{_host(url)}/{reference}").encode()


def _host(url: str) -> str:
    return url.split("://", 1)[1]
