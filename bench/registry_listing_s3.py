"""Catalog and tag-list pages on S3 (moto's server over HTTP): pyreg beside
Distribution 2.8.2, both serving one bucket.

    python3 -m bench.registry_listing_s3 [--repositories 10000] [--tags 10000] [--rounds 3]

The bucket is seeded with boto3 in registry:2's layout, as Distribution
writes it (a revision and a layer link per repository; one repository with
`--tags` tags, each a current and an index link), so there is no pyreg
index at first: pyreg's first listing builds it, and that one-off time is
reported on its own line. Then the first, middle and last pages (n=100) of
`/v2/_catalog` and of `/v2/big/app/tags/list` are asked of both servers in
alternating rounds; each figure is the median over the rounds, and both
servers must answer the same pages.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.registry_catalog import catalog_order, repository_names  # noqa: E402
from tests.support.moto_server import moto_s3_server  # noqa: E402
from tests.support.processes import free_port, require_binary, terminating, wait_for_http  # noqa: E402

V2 = "r/docker/registry/v2"
LINK = b"sha256:" + hashlib.sha256(b"bench").hexdigest().encode()
TAGGED = "big/app"
PAGE = 100


def seed(client, bucket: str, names: list[str], tags: list[str]) -> None:
    hex_ = LINK.decode().split(":")[1]
    keys = [f"{V2}/repositories/{name}/{kind}/sha256/{hex_}/link"
            for name in names for kind in ("_manifests/revisions", "_layers")]
    keys += [f"{V2}/repositories/{TAGGED}/_manifests/tags/{tag}/{where}"
             for tag in tags for where in ("current/link", f"index/sha256/{hex_}/link")]
    keys.append(f"{V2}/blobs/sha256/{hex_[:2]}/{hex_}/data")

    def put(key: str) -> None:
        client.put_object(Bucket=bucket, Key=key, Body=LINK)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(put, keys))


def storage_yaml(endpoint, bucket: str) -> str:
    return (f"storage:\n  s3:\n    bucket: {bucket}\n    region: {endpoint.region}\n"
            f"    regionendpoint: {endpoint.url}\n    accesskey: {endpoint.access_key}\n"
            f"    secretkey: {endpoint.secret_key}\n    rootdirectory: /r\n    secure: false\n"
            f"  redirect:\n    disable: true\n")


def get(port: int, path: str) -> tuple[float, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path} on {port}: HTTP {response.status} {body[:200]!r}")
    return elapsed, json.loads(body)


def pages(names: list[str], tags: list[str]) -> dict[str, tuple[str, str, list[str]]]:
    """label -> (path, key in the answer, the page the layout holds)."""
    chosen = {}
    for kind, items, path, key in (("catalog", names, "/v2/_catalog", "repositories"),
                                   ("tags", tags, f"/v2/{TAGGED}/tags/list", "tags")):
        for where, last in (("first", None), ("middle", items[len(items) // 2 - 1]),
                            ("last", items[-PAGE - 1])):
            query = {"n": PAGE, **({"last": last} if last else {})}
            start = items.index(last) + 1 if last else 0
            chosen[f"{kind} {where} page"] = (f"{path}?{urlencode(query)}", key, items[start:start + PAGE])
    return chosen


def check_page(name: str, label: str, got: list[str], expected: list[str]) -> None:
    """The page the layout holds; Distribution 2.8.2 answers a tag list whole
    whatever `n` and `last` say (pagination of tags came in 3.0): it must
    then hold the page in place."""
    if got == expected:
        return
    if name == "distribution" and label.startswith("tags") and len(got) > len(expected):
        start = got.index(expected[0]) if expected and expected[0] in got else -1
        if start >= 0 and got[start:start + len(expected)] == expected:
            WHOLE.add(label)
            return
    raise SystemExit(f"{name} answered another {label}: {got[:3]}...")


WHOLE: set[str] = set()


def measure(ports: dict[str, int], chosen: dict, rounds: int) -> dict[str, dict[str, float]]:
    samples: dict[str, dict[str, list[float]]] = {name: {label: [] for label in chosen} for name in ports}
    for _ in range(rounds):
        for label, (path, key, expected) in chosen.items():
            for name, port in ports.items():  # alternate, so both see the same machine
                elapsed, answer = get(port, path)
                check_page(name, label, answer[key], expected)
                samples[name][label].append(elapsed * 1000)
    return {name: {label: statistics.median(values) for label, values in by_label.items()}
            for name, by_label in samples.items()}


def serve_both(endpoint, bucket: str, work: Path):
    config = work / "config.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\n{storage_yaml(endpoint, bucket)}")
    ports = {"pyreg": free_port(), "distribution": free_port()}
    distribution = [require_binary("docker-registry", "docker-registry"), "serve", str(config)]
    dist_config = work / "distribution.yml"
    dist_config.write_text(config.read_text() + f"http:\n  addr: 127.0.0.1:{ports['distribution']}\n")
    distribution[-1] = str(dist_config)
    pyreg = [sys.executable, "-m", "pyreg_cli.main", "serve", "--config", str(config),
             "--addr", f"127.0.0.1:{ports['pyreg']}"]
    return ports, pyreg, distribution


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repositories", type=int, default=10_000)
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import subprocess
    names = catalog_order(repository_names(args.repositories) + [TAGGED])
    tags = sorted(f"v{number:05d}" for number in range(args.tags))
    with moto_s3_server() as endpoint, tempfile.TemporaryDirectory() as work:
        bucket = endpoint.create_bucket()
        started = time.perf_counter()
        seed(endpoint.client(), bucket, names, tags)
        print(f"seeded {len(names):,} repositories and {len(tags):,} tags in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        ports, pyreg, distribution = serve_both(endpoint, bucket, Path(work))
        # Distribution's AWS SDK cannot load a custom CA bundle over plain http
        env = {key: value for key, value in os.environ.items() if key != "AWS_CA_BUNDLE"}
        processes = [subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, env=env,
                                      stderr=subprocess.DEVNULL) for command in (pyreg, distribution)]
        with terminating(processes[0]), terminating(processes[1]):
            for name, port in ports.items():
                wait_for_http(f"http://127.0.0.1:{port}/v2/", processes[0 if name == "pyreg" else 1])
            chosen = pages(names, tags)
            for label in ("catalog first page", "tags first page"):
                elapsed, _ = get(ports["pyreg"], chosen[label][0])
                print(f"pyreg builds its index at first listing ({label.split()[0]}): {elapsed:.1f} s",
                      flush=True)
            results = measure(ports, chosen, args.rounds)
    print(f"\npage times on S3 (moto), ms, median of {args.rounds} alternating rounds, "
          f"{args.repositories:,} repositories, {args.tags:,} tags in {TAGGED}:")
    print(f"{'':24}{'pyreg':>10}{'distribution':>14}{'ratio':>9}")
    for label in chosen:
        ours, theirs = results["pyreg"][label], results["distribution"][label]
        note = "  (distribution answers all tags)" if label in WHOLE else ""
        print(f"{label:24}{ours:10.1f}{theirs:14.1f}{theirs / ours:8.1f}x{note}")


if __name__ == "__main__":
    main()
