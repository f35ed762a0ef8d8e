"""Debian's buildah as the peer of `pyreg build`, with storage of its own in
a directory (nothing shared with the host's), runc as its runtime (the
`oci` isolation), the docker image format (OCI's config has no Shell,
Healthcheck nor OnBuild) and no network for RUN. Base images come in from
a docker-archive that pyreg saved: the builds never touch a registry."""
from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.processes import require_binary

BUD_FLAGS = ["--layers", "--runtime", "runc", "--isolation", "oci", "--format", "docker",
             "--network", "none", "--pull=never", "--identity-label=false"]


class Buildah:
    def __init__(self, workdir: Path, storage_driver: str = "overlay"):
        require_binary("runc", "runc")
        self.base = [require_binary("buildah", "buildah"), "--root", str(workdir / "root"),
                     "--runroot", str(workdir / "run"), "--storage-driver", storage_driver]

    def __call__(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, f"buildah {' '.join(args)}: {done.stderr[-3000:]}"
        return done

    def load(self, archive: Path, name: str) -> None:
        """A base image from a docker-archive, named as FROM names it."""
        image_id = self("pull", "-q", f"docker-archive:{archive}").stdout.split()[-1]
        self("tag", image_id, name)

    def bud(self, context: Path, tag: str, *flags: str) -> subprocess.CompletedProcess:
        return self("bud", *BUD_FLAGS, *flags, "-t", tag, str(context))

    def save(self, tag: str, archive: Path) -> None:
        self("push", "-q", tag, f"docker-archive:{archive}:{tag}")
