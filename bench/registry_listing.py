"""Catalog and tag-list pages on the filesystem and on S3 (moto's server over
HTTP): pyreg beside Distribution 2.8.2, both serving the same storage.

    python3 -m bench.registry_listing [--repositories 10000] [--tags 10000] [--rounds 3]
                                      [--storage both|s3|filesystem]
                                      [--pages both|catalog|tags] [--peer-timeout 300]

Each storage is seeded in registry:2's layout, as Distribution writes it
(a revision and a layer link per repository; one repository with `--tags`
tags, each a current and an index link), so on S3 there is no pyreg index
at first: pyreg's first listing builds it, and that one-off time is
reported on its own line. Then the first, middle and last pages (n=100) of
`/v2/_catalog` and of `/v2/big/app/tags/list` are asked of both servers in
alternating rounds; each figure is the median over the rounds, and both
servers must answer the same pages. A page Distribution does not answer
within `--peer-timeout` is asked no more (each of its catalog pages walks
the whole bucket) and is reported as more than that; Distribution is then
restarted, so its walk does not go on loading the machine.

pyreg keeps tag pages in memory under the repository's index version, so a
repeated page costs one GET. The rows marked "after a change" ask the same
pages with that version rewritten just before each of pyreg's requests (as
another replica's tag push rewrites it), so every one is listed afresh.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.registry_catalog import catalog_order, repository_names  # noqa: E402
from tests.support.moto_server import moto_s3_server  # noqa: E402
from tests.support.processes import free_port, require_binary, wait_for_http  # noqa: E402

V2 = "docker/registry/v2"
S3_ROOT = "r"  # the bucket's rootdirectory, as Distribution's s3 driver names objects
LINK = b"sha256:" + hashlib.sha256(b"bench").hexdigest().encode()
TAGGED = "big/app"
PAGE = 100
INDEX_TIMEOUT = 1800  # seconds for pyreg's one-off index build at first listing
AFTER_CHANGE = ", after a change"


def tag_version_key() -> str:
    """registry/paths.tag_index_version(TAGGED), spelled out: the bench
    imports nothing of the registry it measures."""
    return f"{V2}/_pyreg/index/tags-version/{TAGGED.replace('/', ',')}"


def layout_keys(names: list[str], tags: list[str]) -> list[str]:
    """What a push leaves that listings look at, in registry:2's layout."""
    hex_ = LINK.decode().split(":")[1]
    keys = [f"{V2}/repositories/{name}/{kind}/sha256/{hex_}/link"
            for name in names for kind in ("_manifests/revisions", "_layers")]
    keys += [f"{V2}/repositories/{TAGGED}/_manifests/tags/{tag}/{where}"
             for tag in tags for where in ("current/link", f"index/sha256/{hex_}/link")]
    keys.append(f"{V2}/blobs/sha256/{hex_[:2]}/{hex_}/data")
    return keys


class S3Storage:
    name = "S3 (moto)"
    keeps_tag_pages = True  # pyreg's listing index, and its pages in memory, are for S3

    def __init__(self, endpoint):
        self.endpoint, self.bucket = endpoint, endpoint.create_bucket()

    def seed(self, keys: list[str]) -> None:
        client = self.endpoint.client()

        def put(key: str) -> None:
            client.put_object(Bucket=self.bucket, Key=f"{S3_ROOT}/{key}", Body=LINK)
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(put, keys))

    def rewrite(self, key: str) -> None:
        self.endpoint.client().put_object(Bucket=self.bucket, Key=f"{S3_ROOT}/{key}",
                                          Body=os.urandom(16).hex().encode())

    def yaml(self) -> str:
        endpoint = self.endpoint
        return (f"storage:\n  s3:\n    bucket: {self.bucket}\n    region: {endpoint.region}\n"
                f"    regionendpoint: {endpoint.url}\n    accesskey: {endpoint.access_key}\n"
                f"    secretkey: {endpoint.secret_key}\n    rootdirectory: /{S3_ROOT}\n    secure: false\n"
                f"  redirect:\n    disable: true\n")


class FilesystemStorage:
    name = "the filesystem"
    keeps_tag_pages = False  # so no page is asked "after a change" (nothing to rewrite)

    def __init__(self, root: Path):
        self.root = root

    def seed(self, keys: list[str]) -> None:
        for key in keys:
            path = self.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(LINK)

    def yaml(self) -> str:
        return f"storage:\n  filesystem:\n    rootdirectory: {self.root}\n"


def get(port: int, path: str, timeout: float) -> tuple[float, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.perf_counter()
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path} on {port}: HTTP {response.status} {body[:200]!r}")
    return elapsed, json.loads(body)


def pages(names: list[str], tags: list[str], kinds: str,
          after_change: bool) -> dict[str, tuple[str, str, list[str]]]:
    """label -> (path, key in the answer, the page the layout holds)."""
    chosen = {}
    for kind, items, path, key in (("catalog", names, "/v2/_catalog", "repositories"),
                                   ("tags", tags, f"/v2/{TAGGED}/tags/list", "tags")):
        if kinds not in ("both", kind):
            continue
        for where, last in (("first", None), ("middle", items[len(items) // 2 - 1]),
                            ("last", items[-PAGE - 1])):
            query = {"n": PAGE, **({"last": last} if last else {})}
            start = items.index(last) + 1 if last else 0
            chosen[f"{kind} {where} page"] = (f"{path}?{urlencode(query)}", key, items[start:start + PAGE])
    for label in [label for label in chosen if after_change and label.startswith("tags")]:
        chosen[label + AFTER_CHANGE] = chosen[label]
    return chosen


def check_page(name: str, label: str, got: list[str], expected: list[str]) -> None:
    """The page the layout holds; Distribution 2.8.2 answers a tag list whole
    whatever `n` and `last` say (pagination of tags came in 3.0), and on
    disk in directory order: sorted, it must then hold the page in place."""
    if got == expected:
        return
    if name == "distribution" and label.startswith("tags") and len(got) > len(expected):
        got = sorted(got)
        start = got.index(expected[0]) if expected and expected[0] in got else -1
        if start >= 0 and got[start:start + len(expected)] == expected:
            WHOLE.add(label)
            return
    raise SystemExit(f"{name} answered another {label}: {got[:3]}...")


WHOLE: set[str] = set()


class Servers:
    """Both servers running; Distribution restarted after a request it did
    not answer in time, so its walk does not load the machine afterwards."""

    def __init__(self, commands: dict[str, list[str]], ports: dict[str, int]):
        self.commands, self.ports, self.processes = commands, ports, {}
        # Distribution's AWS SDK cannot load a custom CA bundle over plain http
        self.env = {key: value for key, value in os.environ.items() if key != "AWS_CA_BUNDLE"}
        for name in commands:
            self.start(name)

    def start(self, name: str) -> None:
        self.processes[name] = subprocess.Popen(self.commands[name], cwd=REPO_ROOT, env=self.env,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_http(f"http://127.0.0.1:{self.ports[name]}/v2/", self.processes[name])

    def restart(self, name: str) -> None:
        self.stop(name)
        self.start(name)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def close(self) -> None:
        for name in list(self.processes):
            self.stop(name)


def measure(servers: Servers, chosen: dict, rounds: int, peer_timeout: float,
            change: Callable[[], None]) -> dict[str, dict]:
    """Median ms per server and page; None where Distribution did not answer
    within `peer_timeout` (asked once: every page of its catalog walks the bucket).
    The pages "after a change" come in rounds of their own, after the others:
    interleaved, their rewrites would leave no page kept between rounds."""
    samples: dict[str, dict[str, list[float]]] = {name: {label: [] for label in chosen}
                                                   for name in servers.ports}
    gave_up: set[tuple[str, str]] = set()
    for changed in (False, True):
        group = {label: page for label, page in chosen.items() if label.endswith(AFTER_CHANGE) == changed}
        for round_ in range(rounds if group else 0):
            for label, page in group.items():
                for name in servers.ports:  # alternate, so both see the same machine
                    if (name, label) in gave_up:
                        continue
                    if name == "pyreg" and changed:
                        change()
                    elapsed = ask(servers, name, label, page, peer_timeout, f"round {round_ + 1}")
                    if elapsed is None:
                        gave_up.add((name, label))
                    else:
                        samples[name][label].append(elapsed)
    return {name: {label: (None if (name, label) in gave_up else statistics.median(values))
                   for label, values in by_label.items()} for name, by_label in samples.items()}


def ask(servers: Servers, name: str, label: str, page: tuple, peer_timeout: float, when: str) -> float | None:
    """ms for one page, checked; None (and Distribution restarted) when it did not answer in time."""
    path, key, expected = page
    try:
        elapsed, answer = get(servers.ports[name], path, peer_timeout)
    except TimeoutError:
        if name == "pyreg":
            raise SystemExit(f"pyreg did not answer {label} within {peer_timeout:g} s")
        print(f"{when}: {name} {label}: no answer within {peer_timeout:g} s", flush=True)
        servers.restart(name)
        return None
    check_page(name, label, answer[key], expected)
    print(f"{when}: {name} {label}: {elapsed * 1000:.1f} ms", flush=True)
    return elapsed * 1000


def commands(storage, work: Path) -> tuple[dict[str, int], dict[str, list[str]]]:
    config = work / "config.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\n{storage.yaml()}")
    ports = {"pyreg": free_port(), "distribution": free_port()}
    dist_config = work / "distribution.yml"
    dist_config.write_text(config.read_text() + f"http:\n  addr: 127.0.0.1:{ports['distribution']}\n")
    return ports, {
        "pyreg": [sys.executable, "-m", "pyreg_cli.main", "serve", "--config", str(config),
                  "--addr", f"127.0.0.1:{ports['pyreg']}"],
        "distribution": [require_binary("docker-registry", "docker-registry"), "serve", str(dist_config)],
    }


def report(storage, results: dict, chosen: dict, args: argparse.Namespace) -> None:
    print(f"\npage times on {storage.name}, ms, median of {args.rounds} alternating rounds, "
          f"{args.repositories:,} repositories, {args.tags:,} tags in {TAGGED}:")
    print(f"{'':34}{'pyreg':>10}{'distribution':>14}{'ratio':>10}")
    for label in chosen:
        ours, theirs = results["pyreg"][label], results["distribution"][label]
        note = "  (distribution answers all tags)" if label in WHOLE else ""
        if theirs is None:
            bound = args.peer_timeout * 1000
            bounds = f"{'> ' + format(bound, '.0f'):>14}{'> ' + format(bound / ours, '.0f'):>9}x"
            print(f"{label:34}{ours:10.1f}{bounds}  (distribution: no answer in time)")
        else:
            print(f"{label:34}{ours:10.1f}{theirs:14.1f}{theirs / ours:9.1f}x{note}")


def bench_one(storage, names: list[str], tags: list[str], work: Path, args) -> None:
    started = time.perf_counter()
    storage.seed(layout_keys(names, tags))
    print(f"{storage.name}: seeded {len(names):,} repositories and {len(tags):,} tags in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    ports, command_lines = commands(storage, work)
    servers = Servers(command_lines, ports)
    try:
        chosen = pages(names, tags, args.pages, storage.keeps_tag_pages)
        for label in [label for label in ("catalog first page", "tags first page") if label in chosen]:
            elapsed, _ = get(ports["pyreg"], chosen[label][0], INDEX_TIMEOUT)
            print(f"pyreg's first listing ({label.split()[0]}; on S3 it builds the index): {elapsed:.1f} s",
                  flush=True)
        results = measure(servers, chosen, args.rounds, args.peer_timeout,
                          lambda: storage.rewrite(tag_version_key()))
    finally:
        servers.close()
    report(storage, results, chosen, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repositories", type=int, default=10_000)
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--storage", choices=["both", "s3", "filesystem"], default="both")
    parser.add_argument("--pages", choices=["both", "catalog", "tags"], default="both")
    parser.add_argument("--peer-timeout", type=float, default=300,
                        help="seconds Distribution gets for one page before it counts as no answer")
    args = parser.parse_args()
    names = catalog_order(repository_names(args.repositories) + [TAGGED])
    tags = sorted(f"v{number:05d}" for number in range(args.tags))
    with tempfile.TemporaryDirectory() as work:
        if args.storage in ("both", "filesystem"):
            (Path(work) / "fs").mkdir()
            bench_one(FilesystemStorage(Path(work) / "fs" / "root"), names, tags, Path(work) / "fs", args)
        if args.storage in ("both", "s3"):
            (Path(work) / "s3").mkdir()
            with moto_s3_server() as endpoint:
                bench_one(S3Storage(endpoint), names, tags, Path(work) / "s3", args)


if __name__ == "__main__":
    main()
