"""Operations benchmark, in one run on this machine: what metrics and a
hanging webhook receiver cost pyreg, beside Distribution 2.8.2 configured alike.

    python3 -m bench.registry_ops [--rounds N] [--seconds S] [--workers N] [--pushes N]

1. Manifest GET requests/s (ab, 32 keep-alive connections) from pyreg with
   metrics off, pyreg with `pyreg.metrics.enabled`, and Distribution with
   `http.debug.prometheus.enabled`; rounds interleaved, medians quoted.
2. Push latency (a 2 KiB blob POST + PUT ?digest= and a manifest PUT, one client)
   from pyreg with no notifications, pyreg with an endpoint that never
   answers (a socket that listens and never accepts), and Distribution with
   the same hanging endpoint; pushes interleaved, median and p95 quoted.
Every server is stopped, with its children, before the benchmark exits.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Iterator

from .registry import (OCI_MANIFEST, REPO, Registry, _ab, distribution_binary, free_port, pyreg_command,
                       running, seed_image)

HANG_ENDPOINT = {"name": "hang", "url": "", "timeout": "1s", "threshold": 3, "backoff": "1s"}


@contextlib.contextmanager
def hanging_endpoint() -> Iterator[str]:
    """A URL whose server takes connections into its backlog and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/events"


def pyreg_config(work: Path, name: str, **sections) -> Path:
    path = work / f"{name}.yml"
    path.write_text(json.dumps({"version": "0.1", "log": {"level": "error"}, **sections}))
    return path


def distribution_config(work: Path, name: str, port: int, **sections) -> Path:
    config = {"version": "0.1", "log": {"level": "error", "accesslog": {"disabled": True}},
              "storage": {"filesystem": {"rootdirectory": str(work / name)}, "delete": {"enabled": True}},
              "http": {"addr": f"127.0.0.1:{port}"}, **sections}
    if "debug" in sections:
        config["http"]["debug"] = sections.pop("debug")
        config.pop("debug")
    path = work / f"{name}.yml"
    path.write_text(json.dumps(config))
    return path


@contextlib.contextmanager
def servers(work: Path, workers: int, variants: dict[str, dict]) -> Iterator[dict[str, str]]:
    """Each variant ("pyreg..." or "distribution...") running; yields their URLs."""
    urls = {}
    with contextlib.ExitStack() as stack:
        for name, sections in variants.items():
            port = free_port()
            if name.startswith("pyreg"):
                command = [*pyreg_command(work / name, port, workers), "--config",
                           str(pyreg_config(work, name, **sections))]
            else:
                command = [distribution_binary(), "serve", str(distribution_config(work, name, port, **sections))]
            urls[name] = f"http://127.0.0.1:{port}"
            stack.enter_context(running(command, urls[name], work / f"{name}.log"))
        yield urls


def manifest_rates(work: Path, workers: int, rounds: int, seconds: float) -> dict[str, list[float]]:
    variants = {"pyreg, metrics off": {}, "pyreg, metrics on": {"pyreg": {"metrics": {"enabled": True}}},
                "distribution, metrics on": {"debug": {"addr": f"127.0.0.1:{free_port()}",
                                                        "prometheus": {"enabled": True}}}}
    rates: dict[str, list[float]] = {name: [] for name in variants}
    with servers(work, workers, variants) as urls:
        for url in urls.values():
            seed_image(Registry(url))
            _ab(f"{url}/v2/{REPO}/manifests/v1", "GET", {"Accept": OCI_MANIFEST}, 1)  # warm up
        for _ in range(rounds):
            for name, url in urls.items():
                rates[name].append(_ab(f"{url}/v2/{REPO}/manifests/v1", "GET", {"Accept": OCI_MANIFEST}, seconds))
    return rates


def push_once(registry: Registry, number: int, config_digest: str, config_size: int) -> float:
    layer = os.urandom(2048)
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": config_digest, "size": config_size},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": digest, "size": len(layer)}]}).encode()
    started = time.perf_counter()
    registry.put_blob(layer, len(layer), digest)  # POST, PUT ?digest=: Distribution has no one-POST push
    registry.call("PUT", f"/v2/{REPO}/manifests/p{number}", manifest, {"Content-Type": OCI_MANIFEST}, expect=201)
    return time.perf_counter() - started


def push_latencies(work: Path, workers: int, pushes: int) -> dict[str, list[float]]:
    with hanging_endpoint() as url:
        hook = {"notifications": {"endpoints": [{**HANG_ENDPOINT, "url": url}]}}
        variants = {"pyreg, no receiver": {}, "pyreg, hanging receiver": hook, "distribution, hanging receiver": hook}
        times: dict[str, list[float]] = {name: [] for name in variants}
        with servers(work, workers, variants) as urls:
            registries = {name: Registry(address) for name, address in urls.items()}
            configs = {name: seed_image(registry)["config"] for name, registry in registries.items()}
            config_size = len(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}))
            for number in range(pushes):
                for name, registry in registries.items():
                    times[name].append(push_once(registry, number, configs[name], config_size))
    return times


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of manifest GET load per server")
    parser.add_argument("--seconds", type=float, default=5, help="seconds per round")
    parser.add_argument("--workers", type=int, default=1, help="pyreg serve --workers")
    parser.add_argument("--pushes", type=int, default=60, help="pushes per server")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pyreg-bench-ops-") as temp:
        rates = manifest_rates(Path(temp), args.workers, args.rounds, args.seconds)
        times = push_latencies(Path(temp), args.workers, args.pushes)
    print(f"manifest GET req/s, ab -c 32 -k, {args.rounds} rounds x {args.seconds:g}s, pyreg --workers {args.workers}")
    base = statistics.median(rates["pyreg, metrics off"])
    for name, values in rates.items():
        print(f"  {name:28} median {statistics.median(values):8.0f}  rounds {[round(v) for v in values]}"
              f"  ({statistics.median(values) / base:.2f}x pyreg off)")
    print(f"push latency (2 KiB blob + manifest), {args.pushes} pushes each, interleaved")
    base = statistics.median(times["pyreg, no receiver"])
    for name, values in times.items():
        print(f"  {name:32} median {statistics.median(values) * 1000:6.1f} ms  p95 {p95(values) * 1000:6.1f} ms"
              f"  max {max(values) * 1000:6.1f} ms  ({statistics.median(values) / base:.2f}x pyreg without)")


if __name__ == "__main__":
    main()
