"""Command-line peers that need no daemon: podman (with its own storage
root in a temp directory, so tests share nothing with the host) and skopeo
(with an accept-anything signature policy of its own)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.e2e.commands import run
from tests.support.processes import require_binary

POLICY = {"default": [{"type": "insecureAcceptAnything"}]}


class Podman:
    def __init__(self, workdir: Path):
        binary = require_binary("podman", "podman")
        require_binary("runc", "runc")
        self.base = [binary, "--root", str(workdir / "root"), "--runroot", str(workdir / "run"),
                     "--tmpdir", str(workdir / "tmp"), "--storage-driver", "overlay",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "file"]

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run([*self.base, *args], check=check)


class Skopeo:
    """`copy` always passes --preserve-digests: skopeo's host-wide blob-info
    cache may otherwise swap a layer for a differently compressed one it has
    seen in another repository (pushed by podman or docker), changing the
    manifest digest."""

    def __init__(self, workdir: Path):
        self.binary = require_binary("skopeo", "skopeo")
        workdir.mkdir(parents=True, exist_ok=True)
        self.policy = workdir / "policy.json"
        self.policy.write_text(json.dumps(POLICY))

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run([self.binary, "--policy", str(self.policy), *args], check=check)

    def copy_to_registry(self, source: str, destination: str, *extra: str) -> str:
        """Copy `source` to docker://`destination`; returns the digest skopeo wrote."""
        digest_file = self.policy.parent / "digest"
        self("copy", "--preserve-digests", "--dest-tls-verify=false",
             "--digestfile", str(digest_file), *extra, source, f"docker://{destination}")
        return digest_file.read_text().strip()
