"""Runtime benchmark, all peers measured in the same run on this machine:

1. Start-up: `pyreg run --rm IMAGE true` (warm: snapshots unpacked, bytecode
   cached) against `runc run` on a bundle of the same image and against
   `podman run --rm --network none --runtime runc ...` (the image imported
   into podman's store from pyreg's OCI layout with `podman pull oci:...`).
2. Unpack: a 500 MB image of random-data gzip layers into the snapshot cache
   (decompress, diff_id verification, safe extraction), against GNU
   `tar -xzf` and `umoci raw unpack` on the same layers.

    sudo python3 -m bench.runtime [--runs N] [--unpack-mb MB] [--workdir DIR]
                                  [--plain-venv DIR] [--baseline CHECKOUT]

pyreg runs as users run it, from two installs side by side in the same
run: the checkout's `.venv/bin/pyreg` (made by `python3 bootstrap.py`), and
a plain `pip install .` into a fresh venv (`--plain-venv DIR` reuses one;
made in the work directory otherwise, which needs PyPI). The output names
each interpreter. `--baseline CHECKOUT` adds the `pyreg` of another
checkout (its `.venv/bin/pyreg`, as bootstrap.py made it) to the same
rounds, as a peer: before and after a change, measured alike. Prints
medians, the ratio pyreg/peer (below 1 means pyreg is faster) and the CPU
time (user + system) per start.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ocispec import mediatypes as mt  # noqa: E402
from ocispec.descriptor import Descriptor  # noqa: E402
from ocispec.digest import Digest  # noqa: E402
from tests.support.busybox_image import BUSYBOX_REF, build_busybox_image, write_image  # noqa: E402

PODMAN_FLAGS = ["--rm", "--network", "none", "--runtime", "runc",
                "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]
MiB = 1 << 20
BASELINE = "baseline checkout, bootstrap"  # a peer: the rows starting "pyreg" are compared to it


CPU_TIMES: dict[str, list[float]] = {}  # label -> CPU seconds per run (user + system)


def timed(command: list[str], runs: int, env: dict | None = None, label: str = "") -> list[float]:
    """Wall-clock seconds per run; CPU time goes to CPU_TIMES (on a shared,
    busy machine it says more than the wall clock)."""
    times = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, env=env)
        times.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        CPU_TIMES.setdefault(label or Path(command[0]).name, []).append(
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if result.returncode != 0:
            raise SystemExit(f"{command[0]} failed: {result.stderr.decode()[-500:]}")
    return times


def pyreg_command(script: Path) -> tuple[list[str], str, str]:
    """The pyreg command at script, its interpreter, and a description."""
    if not os.access(script, os.X_OK):
        raise SystemExit(f"{script} is missing: run `python3 bootstrap.py test` first")
    with open(script, "rb") as handle:
        first = handle.readline().decode(errors="replace").strip()
    interpreter = first[2:].strip() if first.startswith("#!") else sys.executable
    return [str(script)], interpreter, f"{script} (interpreter {interpreter}, {_version(interpreter)})"


def plain_install(venv: Path) -> Path:
    """`python3 -m venv DIR && DIR/bin/pip install .`: the other way users
    install pyreg; the venv is made only if it has no pyreg yet."""
    script = venv / "bin" / "pyreg"
    if not script.exists():
        print(f"making a plain `pip install .` in {venv}...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(REPO)], check=True)
    return script


def _version(interpreter: str) -> str:
    try:
        out = subprocess.run([interpreter, "-c", "import sys; print(sys.version.split()[0], "
                              "'venv' if sys.prefix != sys.base_prefix else 'no venv')"],
                             capture_output=True, text=True, timeout=30)
    except OSError:
        return "unknown"
    return " ".join(out.stdout.split()) or "unknown"


def startup(workdir: Path, runs: int, plain_venv: Path, baseline: Path | None) -> list[tuple[str, float]]:
    """pyreg (both installs, and the baseline's) and runc runs alternate, so
    a busy machine slows all alike."""
    root = workdir / "pyreg-root"
    build_busybox_image(root)
    installs = {"bootstrap": pyreg_command(REPO / ".venv" / "bin" / "pyreg"),
                "pip install .": pyreg_command(plain_install(plain_venv))}
    if baseline is not None:
        installs[BASELINE] = pyreg_command(baseline / ".venv" / "bin" / "pyreg")
    for label, (_, _, description) in installs.items():
        print(f"pyreg measured ({label}): {description}")
    print("load average (1, 5, 15 min) before: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    commands = {label: pyreg + ["--root", str(root), "run", "--rm", "--network", "none", "busybox", "true"]
                for label, (pyreg, _, _) in installs.items()}
    for command in commands.values():
        timed(command, 3, env, label="warm-up")  # unpack, cache the resolution, write bytecode
    bundle = workdir / "bundle"
    subprocess.run(installs["bootstrap"][0] + ["--root", str(root), "bundle", "busybox", str(bundle),
                                               "true"], check=True, capture_output=True, env=env)
    runc = shutil.which("runc") or "/usr/sbin/runc"
    have_runc = os.path.exists(runc)
    ours, theirs, bare = {label: [] for label in commands}, [], []
    for index in range(runs + 2):
        for label, command in commands.items():
            ours[label] += timed(command, 1, env, label=f"pyreg ({label})")
        if have_runc:
            theirs += timed([runc, "run", "--bundle", str(bundle), f"bench-{os.getpid()}-{index}"], 1,
                            label="runc")
        bare += timed([installs["bootstrap"][1], "-c", "pass"], 1, env, label="python -c pass")
    results = [(f"{'baseline: ' if label == BASELINE else ''}pyreg run --rm busybox true ({label})",
                statistics.median(times[2:])) for label, times in ours.items()]
    if have_runc:
        results.append(("runc run (same image bundle)", statistics.median(theirs[2:])))
    # not a peer: the floor under pyreg, the interpreter starting and stopping
    results.append(("(for reference: python -c pass, bootstrap venv)", statistics.median(bare[2:])))
    results += podman_startup(root, runs)
    print("load average (1, 5, 15 min) after: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    CPU_TIMES.pop("warm-up", None)
    cpu = {name: statistics.median(values[2:] or values) for name, values in CPU_TIMES.items()}
    print("CPU time per start (user+system, median): "
          + ", ".join(f"{name} {seconds * 1000:.1f} ms" for name, seconds in cpu.items()))
    return results


def podman_startup(root: Path, runs: int) -> list[tuple[str, float]]:
    podman = shutil.which("podman")
    if not podman:
        return []
    pulled = subprocess.run([podman, "pull", "-q", f"oci:{root / 'images'}:{BUSYBOX_REF}"],
                            capture_output=True, text=True)
    if pulled.returncode != 0:
        print(f"podman pull failed: {pulled.stderr.strip()[-300:]}", file=sys.stderr)
        return []
    image = pulled.stdout.strip().splitlines()[-1]
    command = [podman, "run", *PODMAN_FLAGS, image, "true"]
    try:
        timed(command, 2, label="podman warm-up")
        CPU_TIMES.pop("podman warm-up", None)
        return [("podman run --rm --network none --runtime runc",
                 statistics.median(timed(command, max(3, runs // 2), label="podman")))]
    finally:
        subprocess.run([podman, "rmi", "-f", image], capture_output=True)


class RandomSource:
    """A file-like object of pseudo-random bytes (fast, incompressible)."""

    def __init__(self, seed: int):
        self.random = random.Random(seed)

    def read(self, size: int) -> bytes:
        return self.random.randbytes(size)


def write_random_layer(path: Path, seed: int, size: int, files: int) -> tuple[Digest, Digest, int]:
    """A gzip tar layer of `files` random files; (blob digest, diff_id, blob size)."""
    diff_hash = hashlib.sha256()

    class HashingFile:
        def __init__(self, raw):
            self.raw = raw

        def write(self, data):
            diff_hash.update(data)
            return self.raw.write(data)

    with gzip.open(path, "wb", compresslevel=1) as compressed:
        with tarfile.open(fileobj=HashingFile(compressed), mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for index in range(files):
                info = tarfile.TarInfo(f"data/layer{seed}/file{index}.bin")
                info.size, info.mode = size // files, 0o644
                tar.addfile(info, RandomSource(seed * 1000 + index))
    blob_hash = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(MiB):
            blob_hash.update(chunk)
    return Digest("sha256", blob_hash.hexdigest()), Digest("sha256", diff_hash.hexdigest()), path.stat().st_size


def build_big_image(root: Path, total_mb: int, layers: int = 5) -> list[Path]:
    """Write the layers straight into the layout's blob store; return their paths."""
    from ocispec.layout import OciLayout
    layout = OciLayout(root / "images").init()
    descriptors, diff_ids, paths = [], [], []
    for index in range(layers):
        temp = root / f"layer{index}.tar.gz"
        digest, diff_id, size = write_random_layer(temp, index, total_mb * MiB // layers, 20)
        paths.append(layout.commit_blob(temp, digest))
        descriptors.append(Descriptor(mt.OCI_LAYER_GZIP, digest, size))
        diff_ids.append(str(diff_id))
    write_manifest(layout, descriptors, diff_ids)
    return paths


def write_manifest(layout, descriptors: list[Descriptor], diff_ids: list[str]) -> None:
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["true"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    config_descriptor = Descriptor(mt.OCI_CONFIG, layout.write_blob(config), len(config))
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                           "config": config_descriptor.to_json(),
                           "layers": [d.to_json() for d in descriptors]}).encode()
    digest = layout.write_blob(manifest)
    layout.set_ref("docker.io/library/big:latest", Descriptor(mt.OCI_MANIFEST, digest, len(manifest)))


def unpack(workdir: Path, total_mb: int) -> list[tuple[str, float]]:
    from runtime.image.resolve import resolve_image
    from runtime import paths
    from runtime.image.snapshots import ensure_snapshots
    root = workdir / "big-root"
    print(f"writing a {total_mb} MB random-data image...", file=sys.stderr)
    layer_paths = build_big_image(root, total_mb)
    results = []
    began = time.perf_counter()
    ensure_snapshots(root, resolve_image(root, "big"))
    results.append((f"pyreg unpack {total_mb} MB (5 gzip layers, verified)", time.perf_counter() - began))
    shutil.rmtree(paths.snapshots(str(root)))
    target = workdir / "tar-out"
    began = time.perf_counter()
    for path in layer_paths:
        target.mkdir(exist_ok=True)
        subprocess.run(["tar", "-xzf", str(path), "-C", str(target)], check=True)
    results.append(("GNU tar -xzf, same layers", time.perf_counter() - began))
    shutil.rmtree(target)
    umoci = shutil.which("umoci")
    if umoci:
        began = time.perf_counter()
        subprocess.run([umoci, "raw", "unpack", "--image", f"{root / 'images'}:docker.io/library/big:latest",
                        str(workdir / "umoci-out")], check=True, capture_output=True)
        results.append(("umoci raw unpack, same image", time.perf_counter() - began))
        shutil.rmtree(workdir / "umoci-out")
    return results


def report(title: str, rows: list[tuple[str, float]]) -> None:
    """Each peer's row gives the ratio of every pyreg row to it."""
    print(f"\n{title}")
    ours = [(name, seconds) for name, seconds in rows if name.startswith("pyreg")]
    for name, seconds in rows:
        print(f"  {name:<56} {seconds * 1000:9.1f} ms")
        if name.startswith("pyreg") or name.startswith("("):
            continue
        for our_name, our_seconds in ours:
            print(f"  {'':<8}pyreg/peer ({our_name.partition('(')[2].rstrip(')') or 'pyreg'}) = "
                  f"{our_seconds / seconds:.2f} (pyreg {seconds / our_seconds:.1f}x as fast)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--unpack-mb", type=int, default=500)
    parser.add_argument("--workdir", help="scratch directory (default: a new temp dir, removed)")
    parser.add_argument("--plain-venv", help="a venv with a plain `pip install .` of pyreg "
                        "(default: made in the work directory)")
    parser.add_argument("--baseline", metavar="CHECKOUT", help="another checkout of pyreg whose "
                        ".venv/bin/pyreg runs in the same rounds (before/after a change)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the runtime benchmark needs root (namespaces, mounts)")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="pyreg-bench-runtime-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        plain = Path(args.plain_venv) if args.plain_venv else workdir / "plain-venv"
        baseline = Path(args.baseline).resolve() if args.baseline else None
        report(f"start-up, median of {args.runs}", startup(workdir, args.runs, plain, baseline))
        if args.unpack_mb > 0:
            report("unpack", unpack(workdir, args.unpack_mb))
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
