"""Client benchmark: pull and push of a ~500 MB image (5 random gzip layers),
pyreg against skopeo, through the same Distribution 2.8.2 registry on
127.0.0.1, in one run. Prints times, throughput, pyreg's peak memory and
the skopeo/pyreg ratios.

    .venv/bin/python bench/client.py [--size-mb 500] [--layers 5] [--rounds 3]

(pyreg runs under the interpreter that runs this script: use the venv's,
which starts several times faster than a pyenv shim.)

What makes pyreg fast here: layers move in parallel (--jobs, largest first);
blob bodies are received by a BufferedProtocol straight into 256 KiB blocks
(puller/fastget.py) instead of aiohttp's small copies; hashing and writing run
in a worker thread (hashlib and write release the GIL) while the event loop
keeps reading; each blob is hashed exactly once; data is pushed to disk with
fdatasync every 32 MiB so the fsync before the rename has little left; pushes
stream files in 4 MiB reads, small blobs in one PUT, large ones in 128 MiB
PATCHes; uvloop runs the event loop.

Fairness: every pull writes into an empty destination; every push goes to a
freshly started registry (so neither tool can mount or skip blobs it pushed
before, and skopeo's blob-info cache knows nothing about it); the pushed
image is named `localhost/...` in pyreg's store, so pyreg has no registry to
mount from either.
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


def timed(command: list[str], tool: str) -> float:
    """Wall time of one command; its peak RSS is kept per tool. Dirty pages of
    the previous run are flushed first so that runs do not pay for each other."""
    subprocess.run(["sync"], check=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])}... failed: {stderr.strip()[-400:]}")
    PEAK_RSS_MB[tool] = max(PEAK_RSS_MB.get(tool, 0), usage.ru_maxrss / 1024)
    return elapsed


def bench_pull(work: Path, host: str, rounds: int) -> dict[str, list[float]]:
    """Each round pulls with both tools into empty directories; who goes first
    alternates, so neither always pays for the other's deleted files."""
    times: dict[str, list[float]] = {"pyreg": [], "skopeo": []}
    for round_index in range(-1, rounds):  # round -1 warms the registry's page cache, untimed
        order = ("skopeo", "pyreg") if round_index % 2 == 0 else ("pyreg", "skopeo")
        for tool in order:
            target = work / f"{tool}-pull-{round_index}"
            if tool == "skopeo":
                command = ["skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false",
                           f"docker://{host}/bench/image:1", f"oci:{target}:1"]
            else:
                command = [*PYREG, "--root", str(target), "pull", "-q", f"{host}/bench/image:1"]
            elapsed = timed(command, tool)
            if round_index >= 0:
                times[tool].append(elapsed)
            shutil.rmtree(target)
    return times


def bench_push(work: Path, source: Path, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"pyreg": [], "skopeo": []}
    root = work / "pyreg-push-store"
    subprocess.run([*PYREG, "--root", str(root), "load", "-i", str(source)], check=True,
                   capture_output=True)
    for round_index in range(rounds):
        for tool in ("skopeo", "pyreg") if round_index % 2 == 0 else ("pyreg", "skopeo"):
            with distribution_registry(work / f"push-{tool}-{round_index}") as url:
                host = url.split("//")[1]
                if tool == "skopeo":
                    command = ["skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
                               f"oci:{source}:bench", f"docker://{host}/bench/pushed:1"]
                else:
                    command = [*PYREG, "--root", str(root), "push", "-q", "localhost/source:bench",
                               f"{host}/bench/pushed:1"]
                times[tool].append(timed(command, tool))
            shutil.rmtree(work / f"push-{tool}-{round_index}")
    return times


def report(name: str, times: dict[str, list[float]], size_mb: int) -> float:
    pyreg, skopeo = statistics.median(times["pyreg"]), statistics.median(times["skopeo"])
    print(f"{name}: pyreg {pyreg:6.2f}s ({size_mb / pyreg:6.0f} MB/s)   "
          f"skopeo {skopeo:6.2f}s ({size_mb / skopeo:6.0f} MB/s)   "
          f"skopeo/pyreg = {skopeo / pyreg:4.2f}x   (median of {len(times['pyreg'])}; "
          f"pyreg {', '.join(f'{t:.2f}' for t in times['pyreg'])}; "
          f"skopeo {', '.join(f'{t:.2f}' for t in times['skopeo'])})")
    return skopeo / pyreg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("skopeo") is None:
        raise SystemExit("skopeo is not installed (apt-get install skopeo)")
    with tempfile.TemporaryDirectory(prefix="pyreg-bench-", dir="/var/tmp") as scratch:
        work = Path(scratch)
        source = work / "source"
        started = time.perf_counter()
        build_image(source, args.size_mb, args.layers)
        print(f"built a {args.size_mb} MB image of {args.layers} layers in "
              f"{time.perf_counter() - started:.1f}s")
        with distribution_registry(work / "registry") as url:
            host = url.split("//")[1]
            subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
                            f"oci:{source}:bench", f"docker://{host}/bench/image:1"], check=True)
            pull = report("pull", bench_pull(work, host, args.rounds), args.size_mb)
        push = report("push", bench_push(work, source, args.rounds), args.size_mb)
        print("peak RSS: " + ", ".join(f"{tool} {mb:.0f} MB" for tool, mb in PEAK_RSS_MB.items()))
        print(f"ratios (skopeo time / pyreg time): pull {pull:.2f}x, push {push:.2f}x; target >= 2x")


if __name__ == "__main__":
    main()
