#!/usr/bin/env python3
"""Install pyreg into ./.venv and start a registry, or run the test suite.

    python3 bootstrap.py serve [pyreg serve args...]
    python3 bootstrap.py test  [pytest args...]

Needs only python3: it installs python3-venv (as root, with apt-get) when
the interpreter cannot make a virtual environment, and for `test` the Debian
peers the suite checks pyreg against (skopeo, Distribution, podman, runc...).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
TEST_DEBIAN_PACKAGES = ["skopeo", "docker-registry", "podman", "runc", "crun", "umoci",
                        "busybox-static", "zstd", "uidmap", "iproute2", "docker.io", "containerd",
                        "apache2-utils", "nftables", "passt", "slirp4netns",
                        # pyreg build's peer: the same Dockerfiles built by buildah (bench/build.py too)
                        "buildah",
                        # the runtime's per-architecture parts: the kernel's syscall tables,
                        # and an emulator to run the aarch64 exec trampoline on x86_64
                        "linux-libc-dev", "qemu-user-static"]


def run(cmd: list[str], **kwargs) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)


def apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"bootstrap: not root or no apt-get; skipping Debian packages {packages}", flush=True)
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], env=env)


def ensure_venv(extras: str) -> None:
    if not VENV_PYTHON.exists():
        made = subprocess.run([sys.executable, "-m", "venv", str(VENV)]).returncode == 0
        if not made:
            shutil.rmtree(VENV, ignore_errors=True)
            apt_install(["python3-venv"])
            run([sys.executable, "-m", "venv", str(VENV)])
    run([str(VENV_PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    # compat mode is a plain .pth line: the default editable finder costs
    # about 15 ms at every interpreter start, which `pyreg run` cannot afford.
    run([str(VENV_PYTHON), "-m", "pip", "install", "-q", "-e", f"{HERE}[{extras}]",
         "--config-settings", "editable_mode=compat"])
    write_console_script()


LEAN_SCRIPT = """#!{python}
import sys
from pyreg_cli.main import main
sys.exit(main())
"""


def write_console_script() -> None:
    """Replace pip's `pyreg` launcher with one that skips its `import re`
    (6 ms of every `pyreg run`); it does the same thing otherwise."""
    script = VENV / "bin" / "pyreg"
    temp = script.with_suffix(".tmp")
    temp.write_text(LEAN_SCRIPT.format(python=VENV_PYTHON))
    temp.chmod(0o755)
    temp.replace(script)


def missing_debian_packages() -> list[str]:
    if not shutil.which("dpkg-query"):
        return TEST_DEBIAN_PACKAGES
    missing = []
    for package in TEST_DEBIAN_PACKAGES:
        result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                                capture_output=True, text=True)
        if "install ok installed" not in result.stdout:
            missing.append(package)
    return missing


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("serve", "test"):
        print(__doc__)
        return 2
    verb, rest = argv[0], argv[1:]
    if verb == "serve":
        ensure_venv("fast")
        os.execv(str(VENV / "bin" / "pyreg"), ["pyreg", "serve", *rest])
    missing = missing_debian_packages()
    if missing:
        apt_install(missing)
    ensure_venv("fast,test")
    os.chdir(HERE)
    return subprocess.run([str(VENV_PYTHON), "-m", "pytest", *rest]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
