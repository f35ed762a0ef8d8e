"""Client benchmark: pull and push of a ~500 MB image (5 random gzip layers),
pyreg against skopeo, in one run, through two registries on 127.0.0.1: CNCF
Distribution 2.8.2 and pyreg's own `pyreg serve`. Prints one table per
registry with times, throughput and the skopeo/pyreg ratios, then peak memory.

    .venv/bin/python bench/client.py [--size-mb 500] [--layers 5] [--rounds 3]
                                     [--registries distribution,pyreg] [--baseline DIR]

(--baseline DIR runs the client of another checkout too, in the same rounds:
before/after figures of a change on a machine whose load varies.)

(pyreg, client and server, runs under the interpreter that runs this script:
use the venv's, which starts several times faster than a pyenv shim.)

What makes pyreg fast here: the client speaks HTTP/1.1 itself (puller/http)
on blocking sockets in worker threads, with connections kept alive, and
never imports aiohttp (a large share of a short command's time). A
download runs from socket to file in one thread (recv_into a reused 1 MiB
buffer, hash, write: each releases the GIL), and another thread fdatasyncs
behind it, so the fsync before the rename has little left. An upload is a
POST, one PATCH whose body goes from the page cache to the socket with
sendfile, and the PUT of its digest. Layers move in parallel, largest first.

Fairness: both tools copy the same image through the same registry process;
every pull writes into an empty destination; every push goes to a freshly
started registry (so neither tool can mount or skip blobs it pushed before);
skopeo's blob-info cache is deleted before each of its runs, so it cannot
skip work either; the pushed image is named `localhost/...` in pyreg's store,
so pyreg has no registry to mount from. Both tools run with their
defaults, which give equal parallelism (up to 6 blobs at once) and no
recompression (layers are copied as they are). Before each run the page
cache is synced and the disk left a second to settle; pyreg runs from
cached bytecode, as an installed copy does. Client CPU time is printed
too: on a machine shared with other work it varies much less than wall time.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = str(Path(__file__).resolve().parent.parent)
sys.path.insert(0, REPO)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")]))

from ocispec import mediatypes as mt  # noqa: E402
from ocispec.descriptor import Descriptor  # noqa: E402
from ocispec.digest import Digest  # noqa: E402
from ocispec.layout import OciLayout  # noqa: E402
from tests.support.processes import distribution_registry  # noqa: E402
from tests.support.pyreg_server import pyreg_server  # noqa: E402

PYREG = [sys.executable, "-m", "pyreg_cli.main"]  # the real command line, every verb group


class RandomReader:
    def __init__(self, size: int):
        self.left = size

    def read(self, count: int = -1) -> bytes:
        count = self.left if count < 0 else min(count, self.left)
        self.left -= count
        return os.urandom(count)


class HashingWriter:
    """Hashes the uncompressed tar (the diff id) on its way into gzip."""

    def __init__(self, target):
        self.target, self.hash, self.offset = target, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.offset += len(data)
        return self.target.write(data)

    def tell(self) -> int:
        return self.offset


def build_layer(path: Path, size: int, name: str) -> str:
    """A gzip layer (stored blocks: random bytes do not compress, and this is
    fast) holding one file of random bytes; returns the diff id."""
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=0,
                                                mtime=0) as zipped:
        writer = HashingWriter(zipped)
        with tarfile.open(fileobj=writer, mode="w", copybufsize=4 << 20) as tar:
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, RandomReader(size))
    return f"sha256:{writer.hash.hexdigest()}"


def build_image(directory: Path, total_mb: int, layers: int) -> None:
    """An OCI layout with `layers` gzip layers of random bytes, as registries hold them."""
    layout = OciLayout(directory).init()
    descriptors, diff_ids = [], []
    for index in range(layers):
        temp = directory / f"layer{index}.tmp"
        diff_ids.append(build_layer(temp, total_mb * 1_000_000 // layers, f"random{index}.bin"))
        digest = Digest("sha256", _sha256_file(temp))
        size = temp.stat().st_size
        layout.commit_blob(temp, digest)
        descriptors.append(Descriptor(mt.OCI_LAYER_GZIP, digest, size).to_json())
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    config_descriptor = Descriptor(mt.OCI_CONFIG, layout.write_blob(config), len(config))
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                           "config": config_descriptor.to_json(), "layers": descriptors}).encode()
    layout.set_ref("bench", Descriptor(mt.OCI_MANIFEST, layout.write_blob(manifest), len(manifest)))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(4 << 20):
            digest.update(chunk)
    return digest.hexdigest()


PEAK_RSS_MB: dict[str, float] = {}
CPU_SECONDS: dict[str, list[float]] = {}  # the client's user+system time, per run
SETTLE_SECONDS = 1.0
SKOPEO_CACHE = Path("/var/lib/containers/cache/blob-info-cache-v1.boltdb")  # root's cache


# The tools measured, in the order of the first round; with --baseline DIR,
# "baseline" is pyreg's client from another checkout (before/after a change).
TOOLS = ["skopeo", "pyreg"]
BASELINE: str | None = None


def add_baseline(directory: str) -> None:
    global BASELINE
    BASELINE = str(Path(directory).resolve())
    TOOLS.append("baseline")


def timed(command: list[str], tool: str) -> float:
    """Wall time of one command; its peak RSS and CPU time are kept per tool.
    Dirty pages of the previous run are flushed first, and the disk is given a
    moment to finish the previous run's deletions (this ext4 discards freed
    blocks), so that runs do not pay for each other: without the pause, a
    pull measured right after the other tool's ran up to 1.7x slower."""
    subprocess.run(["sync"], check=True)
    time.sleep(SETTLE_SECONDS)
    if tool == "skopeo":
        SKOPEO_CACHE.unlink(missing_ok=True)  # no "known blob" shortcuts from earlier runs
    started = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=BASELINE) if tool == "baseline" else None
    # `python -m` puts the working directory first on sys.path: run each
    # client from its own checkout, or the baseline could run this one's code
    cwd = BASELINE if tool == "baseline" else REPO
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                               cwd=cwd)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])}... failed: {stderr.strip()[-400:]}")
    PEAK_RSS_MB[tool] = max(PEAK_RSS_MB.get(tool, 0), usage.ru_maxrss / 1024)
    CPU_SECONDS.setdefault(tool, []).append(usage.ru_utime + usage.ru_stime)
    return elapsed


def _orders(rounds: int):
    """Who goes first rotates, so no tool always pays for another's deleted files."""
    for round_index in range(rounds):
        turn = round_index % len(TOOLS)
        yield round_index, TOOLS[turn:] + TOOLS[:turn]


def pull_command(tool: str, host: str, target: Path) -> list[str]:
    if tool == "skopeo":
        return ["skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false",
                f"docker://{host}/bench/image:1", f"oci:{target}:1"]
    return [*PYREG, "--root", str(target), "pull", "-q", f"{host}/bench/image:1"]


def push_command(tool: str, host: str, source: Path, store: Path) -> list[str]:
    if tool == "skopeo":
        return ["skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
                f"oci:{source}:bench", f"docker://{host}/bench/pushed:1"]
    return [*PYREG, "--root", str(store), "push", "-q", "localhost/source:bench",
            f"{host}/bench/pushed:1"]


def bench_pull(work: Path, host: str, rounds: int) -> dict[str, list[float]]:
    """Each round pulls with every tool into empty directories. An untimed
    first pull warms the registry's page cache."""
    times: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    for round_index, order in [(-1, TOOLS), *_orders(rounds)]:
        for tool in order:
            target = work / f"{tool}-pull-{round_index}"
            elapsed = timed(pull_command(tool, host, target), tool)
            if round_index >= 0:
                times[tool].append(elapsed)
            shutil.rmtree(target)
    return times


def bench_push(work: Path, source: Path, store: Path, start_registry,
               rounds: int) -> dict[str, list[float]]:
    """Each push goes to a registry started empty for it."""
    times: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    for round_index, order in _orders(rounds):
        for tool in order:
            storage = work / f"push-{tool}-{round_index}"
            with start_registry(storage) as url:
                times[tool].append(timed(push_command(tool, url.split("//")[1], source, store),
                                         tool))
            shutil.rmtree(storage)
    return times


def report(name: str, times: dict[str, list[float]], cpu: dict[str, list[float]],
           size_mb: int) -> float:
    """One line per tool; the ratio is of median wall times. Client CPU time
    is printed too: on a shared machine it varies much less than wall time."""
    medians = {tool: statistics.median(runs) for tool, runs in times.items()}
    print(f"  {name}:", flush=True)
    for tool in sorted(TOOLS, key=lambda t: t != "pyreg"):
        print(f"    {tool:8} {medians[tool]:5.2f}s ({size_mb / medians[tool]:4.0f} MB/s), "
              f"client CPU {statistics.median(cpu[tool]):4.2f}s   runs: "
              f"{', '.join(f'{t:.2f}' for t in times[tool])}   CPU: "
              f"{', '.join(f'{t:.2f}' for t in cpu[tool])}", flush=True)
    ratio = medians["skopeo"] / medians["pyreg"]
    print(f"    skopeo/pyreg = {ratio:4.2f}x (median of {len(times['pyreg'])})", flush=True)
    if "baseline" in medians:
        print(f"    baseline/pyreg = {medians['baseline'] / medians['pyreg']:4.2f}x "
              f"(above 1: this checkout is faster than {BASELINE})", flush=True)
    return ratio


def _measured(bench, *args) -> tuple[dict, dict]:
    """(wall times, client CPU times) of one benchmark, per tool."""
    CPU_SECONDS.clear()
    times = bench(*args)
    rounds = len(times["pyreg"])
    return times, {tool: runs[-rounds:] for tool, runs in CPU_SECONDS.items()}


REGISTRIES = {"distribution": ("Distribution 2.8.2", distribution_registry),
              "pyreg": ("pyreg serve", pyreg_server)}


def bench_registry(key: str, work: Path, source: Path, store: Path, args) -> tuple[float, float]:
    title, start_registry = REGISTRIES[key]
    print(f"{title} (load average {os.getloadavg()[0]:.2f}):", flush=True)
    with start_registry(work / f"{key}-pull-registry") as url:
        host = url.split("//")[1]
        subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
                        f"oci:{source}:bench", f"docker://{host}/bench/image:1"], check=True)
        pull = report("pull", *_measured(bench_pull, work, host, args.rounds), args.size_mb)
    push = report("push", *_measured(bench_push, work, source, store, start_registry, args.rounds),
                  args.size_mb)
    shutil.rmtree(work / f"{key}-pull-registry")
    return pull, push


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--registries", default="distribution,pyreg",
                        help="comma-separated, from: " + ", ".join(REGISTRIES))
    parser.add_argument("--baseline", metavar="DIR",
                        help="also measure the client of another pyreg checkout, in the same rounds")
    args = parser.parse_args()
    if args.baseline:
        add_baseline(args.baseline)
    keys = [k for k in args.registries.split(",") if k]
    if shutil.which("skopeo") is None:
        raise SystemExit("skopeo is not installed (apt-get install skopeo)")
    if unknown := set(keys) - set(REGISTRIES):
        raise SystemExit(f"unknown registries: {', '.join(sorted(unknown))}")
    cache_bytecode()
    if BASELINE:
        cache_bytecode(BASELINE)
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]}); "
          f"skopeo {_skopeo_version()}; {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="pyreg-bench-", dir="/var/tmp") as scratch:
        work = Path(scratch)
        source, store = work / "source", work / "pyreg-push-store"
        started = time.perf_counter()
        build_image(source, args.size_mb, args.layers)
        subprocess.run([*PYREG, "--root", str(store), "load", "-i", str(source)], check=True,
                       capture_output=True)
        print(f"built a {args.size_mb} MB image of {args.layers} layers in "
              f"{time.perf_counter() - started:.1f}s", flush=True)
        ratios = {key: bench_registry(key, work, source, store, args) for key in keys}
    print("peak RSS: " + ", ".join(f"{tool} {mb:.0f} MB" for tool, mb in PEAK_RSS_MB.items()))
    for key, (pull, push) in ratios.items():
        print(f"ratios via {REGISTRIES[key][0]} (skopeo time / pyreg time): "
              f"pull {pull:.2f}x, push {push:.2f}x; target >= 2x")


def cache_bytecode(repo: str = REPO) -> None:
    """Run pyreg as an installed copy runs: from cached bytecode. This
    machine's environment sets PYTHONDONTWRITEBYTECODE, under which every run
    would compile pyreg's modules from source again (tens of milliseconds a
    command). The cache goes to the usual (git-ignored) __pycache__ folders."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    packages = ["ocispec", "puller", "pyreg_cli", "registry", "storage_backends"]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *(f"{repo}/{p}" for p in packages)],
                   check=True, stdout=subprocess.DEVNULL)


def _skopeo_version() -> str:
    out = subprocess.run(["skopeo", "--version"], capture_output=True, text=True).stdout
    return out.split()[-1] if out else "?"


if __name__ == "__main__":
    main()
