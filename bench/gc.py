"""Garbage collection benchmark: `pyreg` GC core against Distribution 2.8.2's
`docker-registry garbage-collect`, in one run, on the same data.

    python3 -m bench.gc [--blobs 10000] [--repeat 3] [--s3] [--workdir DIR]

The data is a registry:2 tree written directly (tests/support/registry_layout.py):
repositories of small images sharing base layers, some tagged, some untagged,
and orphan blobs, 10,000 blobs in all by default, aged by two hours. Each
tool runs as its own process on a fresh copy (filesystem) or a fresh bucket
(S3 on moto, with --s3), with and without --delete-untagged; the blobs each
leaves must be the same set. Prints the median time of each and the ratio.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.processes import require_binary  # noqa: E402
from tests.support.registry_layout import (V2, Layout, age_directory, make_layout, write_bucket,  # noqa: E402
                                           write_directory)

REPO_ROOT = Path(__file__).resolve().parent.parent


def layout_of(blobs: int) -> Layout:
    """About `blobs` blobs: 3 unique per image, shared bases, the rest orphans."""
    repositories, tagged, untagged, bases = max(1, blobs // 100), 20, 5, max(1, blobs // 200)
    images = repositories * (tagged + untagged)
    return make_layout(repositories, tagged, untagged, bases, orphans=max(0, blobs - 3 * images - bases))


def distribution_config(storage_yaml: str, path: Path) -> Path:
    path.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n{storage_yaml}\n")
    return path


def run_timed(command: list[str], env: dict | None = None) -> tuple[float, str]:
    os.sync()
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {result.stderr[-2000:]}")
    return elapsed, result.stdout


def pyreg_command(spec: dict, delete_untagged: bool) -> list[str]:
    return [sys.executable, "-m", "bench.gc", "--pyreg-run", json.dumps(spec),
            *(["--delete-untagged"] if delete_untagged else [])]


def stored_blobs_directory(root: Path) -> set[str]:
    return {os.path.basename(d) for d, _, names in os.walk(root / V2 / "blobs") if "data" in names}


class FilesystemCase:
    name = "filesystem"

    def __init__(self, layout: Layout, workdir: Path):
        self.workdir = workdir
        self.master = workdir / "master"
        write_directory(layout, self.master)
        age_directory(self.master, 7200)

    def fresh(self, label: str) -> dict:
        root = self.workdir / label
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(self.master, root)
        return {"kind": "filesystem", "root": str(root)}

    def distribution_storage(self, spec: dict) -> str:
        return f"  filesystem:\n    rootdirectory: {spec['root']}"

    def stored(self, spec: dict) -> set[str]:
        return stored_blobs_directory(Path(spec["root"]))


class S3Case:
    name = "s3 (moto)"

    def __init__(self, layout: Layout, endpoint):
        self.layout, self.endpoint = layout, endpoint

    def fresh(self, label: str) -> dict:
        bucket = self.endpoint.create_bucket()
        write_bucket(self.layout, self.endpoint.client(), bucket, "r/")
        time.sleep(2.1)  # S3 times are whole seconds: let them pass before the grace check
        return {"kind": "s3", "bucket": bucket, "url": self.endpoint.url, "region": self.endpoint.region,
                "access_key": self.endpoint.access_key, "secret_key": self.endpoint.secret_key,
                "root_directory": "/r", "grace": 0}

    def distribution_storage(self, spec: dict) -> str:
        return (f"  s3:\n    bucket: {spec['bucket']}\n    region: {spec['region']}\n"
                f"    regionendpoint: {spec['url']}\n    accesskey: {spec['access_key']}\n"
                f"    secretkey: {spec['secret_key']}\n    rootdirectory: /r\n    secure: false\n")

    def stored(self, spec: dict) -> set[str]:
        client, found = self.endpoint.client(), set()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=spec["bucket"], Prefix=f"r/{V2}/blobs/"):
            found |= {item["Key"].split("/")[-2] for item in page.get("Contents", [])}
        return found


def measure(case, delete_untagged: bool, repeat: int, workdir: Path) -> dict:
    binary = require_binary("docker-registry", "docker-registry")
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    times: dict[str, list[float]] = {"pyreg": [], "distribution": []}
    for number in range(repeat):
        ours, theirs = case.fresh(f"pyreg-{number}"), case.fresh(f"distribution-{number}")
        config = distribution_config(case.distribution_storage(theirs), workdir / f"gc-{number}.yml")
        flags = ["--delete-untagged"] if delete_untagged else []
        elapsed, _ = run_timed([binary, "garbage-collect", *flags, str(config)], env)
        times["distribution"].append(elapsed)
        elapsed, output = run_timed(pyreg_command(ours, delete_untagged))
        times["pyreg"].append(elapsed)
        if case.stored(ours) != case.stored(theirs):
            raise SystemExit(f"{case.name}: pyreg and Distribution left different blobs")
        removed = json.loads(output)["counts"]
    return {"pyreg": statistics.median(times["pyreg"]), "distribution": statistics.median(times["distribution"]),
            "removed": removed}


def pyreg_run(spec: dict, delete_untagged: bool) -> None:
    """The pyreg side, as its own process: open the storage, collect, print the report."""
    from registry.gc import Timing, collect
    from tests.registry.gc.gc_process import open_driver

    async def main() -> dict:
        driver = open_driver(spec)
        timing = Timing(grace=spec.get("grace", 3600.0), touch_age=0, commit_window=0, slack=1.0)
        try:
            return (await collect(driver, delete_untagged=delete_untagged, timing=timing)).to_dict()
        finally:
            await driver.close()
    print(json.dumps(asyncio.run(main())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--s3", action="store_true", help="also on S3 (moto's server), with fresh buckets")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--pyreg-run", help=argparse.SUPPRESS)
    parser.add_argument("--delete-untagged", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pyreg_run:
        pyreg_run(json.loads(args.pyreg_run), args.delete_untagged)
        return
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="pyreg-bench-gc-"))
    layout = layout_of(args.blobs)
    print(f"{layout.blob_count()} blobs, {len(layout.files)} keys; {args.repeat} runs each, median")
    rows = []
    try:
        cases = [FilesystemCase(layout, workdir)]
        for case in cases:
            for delete_untagged in (False, True):
                rows.append((case.name, delete_untagged, measure(case, delete_untagged, args.repeat, workdir)))
        if args.s3:
            from tests.support.moto_server import moto_s3_server
            with moto_s3_server() as endpoint:
                case = S3Case(layout, endpoint)
                for delete_untagged in (False, True):
                    rows.append((case.name, delete_untagged, measure(case, delete_untagged, 1, workdir)))
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'storage':<12} {'mode':<18} {'removed':>8} {'pyreg':>9} {'distribution':>13} {'ratio':>7}")
    for name, delete_untagged, result in rows:
        mode = "--delete-untagged" if delete_untagged else "default"
        removed = result["removed"]["blob"]
        ratio = result["distribution"] / result["pyreg"]
        print(f"{name:<12} {mode:<18} {removed:>8} {result['pyreg']:>8.2f}s {result['distribution']:>12.2f}s {ratio:>6.2f}x")


if __name__ == "__main__":
    main()
