"""Pull-through cache benchmark: pyreg's proxy against Distribution 2.8.2 in
proxy mode (`docker-registry` with `proxy.remoteurl`), both pointed at the
same upstream `pyreg serve`, in one run on this machine.

    python3 -m bench.proxy [--rounds 3] [--layers 64,48,32,8] [--workdir DIR]

The upstream holds one image of a few random (incompressible) gzip layers,
pushed by skopeo. Each round starts every proxy afresh on empty storage, one
at a time, and times skopeo copying the image through it into a new OCI
layout twice: the first pull fills the cache from the upstream, the second
is served from it. Variants:

    pyreg         the default ttl (5m): the second pull asks the upstream nothing
    pyreg ttl=0   every tag request confirmed upstream (HEAD), as Distribution does
    distribution  Distribution 2.8.2's proxy mode

Prints the median of the rounds per variant and pull, and the
distribution/pyreg ratios (above 1: pyreg faster). The order of the
variants rotates between rounds, so neither always runs first.
"""
from __future__ import annotations

import argparse
import os
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.registry import distribution_binary, free_port, pyreg_command, running  # noqa: E402
from tests.registry.oci_image import build_layout  # noqa: E402

MiB = 1 << 20
REPO, TAG = "bench/proxied", "v1"
POLICY = {"default": [{"type": "insecureAcceptAnything"}]}
DISTRIBUTION_PROXY = """version: 0.1
log: {{level: error, accesslog: {{disabled: true}}}}
storage: {{filesystem: {{rootdirectory: {root}}}}}
http: {{addr: "127.0.0.1:{port}"}}
proxy: {{remoteurl: "{upstream}"}}
"""


class Skopeo:
    def __init__(self, workdir: Path):
        self.binary = shutil.which("skopeo") or sys.exit("skopeo is not installed: apt-get install skopeo")
        self.policy = workdir / "policy.json"
        self.policy.write_text(json.dumps(POLICY))

    def copy(self, source: str, dest: str, *flags: str) -> float:
        started = time.perf_counter()
        result = subprocess.run([self.binary, "--policy", str(self.policy), "copy", "-q", *flags, source, dest],
                                capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise RuntimeError(f"skopeo copy {source} failed: {result.stderr.strip()[-500:]}")
        return time.perf_counter() - started


def proxy_command(variant: str, root: Path, port: int, upstream: str, work: Path) -> tuple[list[str], dict]:
    if variant == "distribution":
        config = work / "distribution-proxy.yml"
        config.write_text(DISTRIBUTION_PROXY.format(root=root, port=port, upstream=upstream))
        return [distribution_binary(), "serve", str(config)], {}
    env = {"REGISTRY_PROXY_REMOTEURL": upstream, **({"REGISTRY_PROXY_TTL": "0s"} if "ttl=0" in variant else {})}
    return pyreg_command(root, port, 1), env


def one_round(variant: str, upstream: str, skopeo: Skopeo, work: Path, round_no: int) -> tuple[float, float]:
    """Seconds of the first and the second pull through a fresh proxy."""
    tag = variant.replace(" ", "-").replace("=", "")
    root = work / f"proxy-{tag}-{round_no}"
    port = free_port()
    command, env = proxy_command(variant, root, port, upstream, work)
    with running(command, f"http://127.0.0.1:{port}", work / f"{tag}.log", env={**os.environ, **env},
                 cwd=str(Path(__file__).resolve().parent.parent)):
        source = f"docker://127.0.0.1:{port}/{REPO}:{TAG}"
        times = []
        for pull in ("first", "second"):
            layout = work / f"out-{tag}-{round_no}-{pull}"
            times.append(skopeo.copy(source, f"oci:{layout}:{TAG}", "--src-tls-verify=false"))
            shutil.rmtree(layout)
    shutil.rmtree(root, ignore_errors=True)
    return times[0], times[1]


def run(args: argparse.Namespace) -> None:
    work = Path(args.workdir or tempfile.mkdtemp(prefix="pyreg-bench-proxy-"))
    work.mkdir(parents=True, exist_ok=True)
    skopeo = Skopeo(work)
    sizes = tuple(int(size) * MiB for size in args.layers.split(","))
    build_layout(work / "image", TAG, layer_sizes=sizes)
    upstream_port = free_port()
    upstream = f"http://127.0.0.1:{upstream_port}"
    variants = ["pyreg", "pyreg ttl=0", "distribution"]
    results: dict[str, list[tuple[float, float]]] = {variant: [] for variant in variants}
    with running(pyreg_command(work / "upstream", upstream_port, 1), upstream, work / "upstream.log",
                 cwd=str(Path(__file__).resolve().parent.parent)):
        skopeo.copy(f"oci:{work / 'image'}:{TAG}", f"docker://127.0.0.1:{upstream_port}/{REPO}:{TAG}",
                    "--dest-tls-verify=false")
        for round_no in range(args.rounds):
            order = variants[round_no % len(variants):] + variants[:round_no % len(variants)]
            for variant in order:
                results[variant].append(one_round(variant, upstream, skopeo, work, round_no))
                print(f"round {round_no + 1} {variant}: first {results[variant][-1][0]:.2f} s, "
                      f"second {results[variant][-1][1]:.2f} s", flush=True)
    print_table(results, sum(sizes), args.rounds)
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


def print_table(results: dict[str, list[tuple[float, float]]], layer_bytes: int, rounds: int) -> None:
    medians = {variant: (statistics.median(t[0] for t in times), statistics.median(t[1] for t in times))
               for variant, times in results.items()}
    distribution = medians["distribution"]
    print(f"\nskopeo pulls of a {layer_bytes / MiB:.0f} MiB image through each proxy, "
          f"medians of {rounds} rounds (seconds)")
    print(f"{'':14} {'first pull':>11} {'second pull':>12} {'first ratio':>12} {'second ratio':>13}")
    for variant, (first, second) in medians.items():
        print(f"{variant:14} {first:11.2f} {second:12.2f} {distribution[0] / first:11.2f}x "
              f"{distribution[1] / second:12.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--layers", default="64,48,32,8", help="layer sizes in MiB, comma-separated")
    parser.add_argument("--workdir")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
