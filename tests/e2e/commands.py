"""Running peer commands (podman, docker, ctr, skopeo, pyreg) and cleaning
up after daemons: every failure message carries the command's stderr."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

COMMAND_TIMEOUT = 180
REPO_ROOT = Path(__file__).resolve().parents[2]


def run(command: Sequence[str], check: bool = True, timeout: float = COMMAND_TIMEOUT,
        env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    if "input" not in kwargs:
        kwargs["stdin"] = subprocess.DEVNULL
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})}, **kwargs)
    if check:
        assert result.returncode == 0, (
            f"{' '.join(command)} exited {result.returncode}\n"
            f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-3000:]}")
    return result


def wait_until(ready: Callable[[], bool], timeout: float, what: str,
               alive: Callable[[], bool] = lambda: True) -> bool:
    """Poll `ready` until it holds; False when `alive` turns false or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        if not alive():
            return False
        time.sleep(0.1)
    return False


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below `root`, deepest first."""
    prefix = str(root.resolve())
    points = []
    with open("/proc/self/mounts") as table:
        for line in table:
            point = line.split()[1].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def unmount_under(root: Path) -> None:
    """Daemons usually unmount on exit; a crash leaves mounts pytest cannot delete."""
    for point in mounts_under(root):
        subprocess.run(["umount", "-l", point], capture_output=True)


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def pyreg(root: Path, *args: str, check: bool = True,
          timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
    """The `pyreg` command as a user runs it, on the local store `root`."""
    return run([sys.executable, "-m", "pyreg_cli.main", "--root", str(root), *args], check=check,
               timeout=timeout, env={"PYTHONPATH": str(REPO_ROOT)}, cwd=REPO_ROOT)
