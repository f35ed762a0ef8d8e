"""Build benchmark: `pyreg build` against Debian's `buildah bud --layers`,
the same Dockerfile and context, in the same run on this machine.

The Dockerfile: a base image (busybox, made from Debian's busybox-static),
a COPY of a context of about 200 MB (files of 4 MB, half random bytes and
half text, plus a tree of small files), and several RUNs (reading the copied
files, writing new ones, deleting one). Each round builds it cold (a fresh
store holding only the base image; nothing cached, no snapshot unpacked)
and then cached (the same build again), with pyreg and then with buildah
(runc, overlay storage). Rounds alternate the two, so a busy machine slows
both alike; the medians and the ratios are printed.

    sudo python3 -m bench.build [--context-mb 200] [--rounds 3] [--workdir DIR]
                                [--storage-driver overlay|vfs]

pyreg runs as users run it: the checkout's `.venv/bin/pyreg`, as
`python3 bootstrap.py` made it.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.buildah import BUD_FLAGS, Buildah  # noqa: E402
from tests.support.busybox_image import BUSYBOX_REF, build_busybox_image  # noqa: E402

MiB = 1 << 20
FILE_MB = 4
SMALL_FILES = 500
DOCKERFILE = """FROM busybox
WORKDIR /app
COPY . /app/
RUN du -s /app > /app/du.txt && find /app -type f | wc -l > /app/count.txt
RUN mkdir /out && cat /app/data/text-0.bin /app/small/1/1.txt > /out/joined && echo done > /out/done
RUN rm /app/data/random-1.bin && echo removed > /app/removed
RUN sha256sum /app/data/random-0.bin > /out/sum
"""


def make_context(path: Path, total_mb: int) -> Path:
    """Half random (incompressible), half text (compressible), and small files."""
    rng = random.Random(11)
    data = path / "data"
    data.mkdir(parents=True)
    line = b"the quick brown fox jumps over the lazy dog, again and again 0123456789\n"
    for index in range(max(2, total_mb // FILE_MB)):
        if index % 2:
            body = (line * (FILE_MB * MiB // len(line) + 1))[:FILE_MB * MiB]
            (data / f"text-{index // 2}.bin").write_bytes(body)
        else:
            (data / f"random-{index // 2}.bin").write_bytes(rng.randbytes(FILE_MB * MiB))
    for index in range(SMALL_FILES):
        folder = path / "small" / str(index % 20)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index}.txt").write_text(f"small file {index}\n" * 20)
    (path / "Dockerfile").write_text(DOCKERFILE)
    return path


def timed(command: list[str], env: dict | None = None) -> float:
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])}... failed:\n{done.stderr[-3000:]}")
    return elapsed


def pyreg_round(workdir: Path, base_store: Path, context: Path, index: int) -> tuple[float, float]:
    root = workdir / f"pyreg-{index}"
    shutil.copytree(base_store, root, symlinks=True)
    command = [str(REPO / ".venv" / "bin" / "pyreg"), "--root", str(root), "build", "-q", "-t",
               "bench:1", str(context)]
    try:
        return timed(command), timed(command)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def buildah_round(workdir: Path, archive: Path, context: Path, index: int, driver: str) -> tuple[float, float]:
    storage = workdir / f"buildah-{index}"
    buildah = Buildah(storage, driver)
    buildah.load(archive, BUSYBOX_REF)
    command = [*buildah.base, "bud", *BUD_FLAGS, "-q", "-t", "bench:1", str(context)]
    try:
        return timed(command), timed(command)
    finally:
        subprocess.run([*buildah.base, "rmi", "--all", "--force"], capture_output=True)
        subprocess.run(["umount", "-R", str(storage / "root" / "overlay")], capture_output=True)
        shutil.rmtree(storage, ignore_errors=True)


def report(results: dict[str, list[float]], rounds: int) -> None:
    medians = {name: statistics.median(times) for name, times in results.items()}
    print(f"\nbuild, median of {rounds} rounds (each round: a fresh store, cold then cached)")
    for name, seconds in medians.items():
        print(f"  {name:<28} {seconds * 1000:9.0f} ms   ({', '.join(f'{t * 1000:.0f}' for t in results[name])})")
    for kind in ("cold", "cached"):
        ours, theirs = medians[f"pyreg {kind}"], medians[f"buildah {kind}"]
        print(f"  {kind}: pyreg {theirs / ours:.1f}x as fast as buildah (pyreg/buildah = {ours / theirs:.2f})")


def measure(workdir: Path, args) -> None:
    base_store = workdir / "base-store"
    build_busybox_image(base_store)
    archive = workdir / "busybox.tar"
    subprocess.run([str(REPO / ".venv" / "bin" / "pyreg"), "--root", str(base_store), "save", "-q", "-o",
                    str(archive), "busybox"], check=True)
    context = make_context(workdir / "context", args.context_mb)
    files = [path for path in context.rglob("*") if path.is_file()]
    print(f"context: {sum(path.stat().st_size for path in files) / 1e6:.0f} MB in {len(files)} files; "
          f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results: dict[str, list[float]] = {name: [] for name in
                                       ("pyreg cold", "pyreg cached", "buildah cold", "buildah cached")}
    for index in range(args.rounds):
        for peer, times in (("pyreg", pyreg_round(workdir, base_store, context, index)),
                            ("buildah", buildah_round(workdir, archive, context, index, args.storage_driver))):
            results[f"{peer} cold"].append(times[0])
            results[f"{peer} cached"].append(times[1])
    report(results, args.rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", help="scratch directory (default: a new temp dir, removed)")
    parser.add_argument("--storage-driver", default="overlay", choices=("overlay", "vfs"),
                        help="buildah's storage driver (default overlay)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the build benchmark needs root (RUN steps: namespaces, overlayfs)")
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
        measure(Path(args.workdir), args)
    else:
        with tempfile.TemporaryDirectory(prefix="pyreg-bench-build-", dir="/var/tmp") as scratch:
            measure(Path(scratch), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
