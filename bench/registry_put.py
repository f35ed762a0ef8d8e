"""bench/registry.py's blob PUT row, for before/after figures of a change: a
256 MiB monolithic PUT to `pyreg serve` from this checkout and from other
checkouts, and to Distribution 2.8.2, the servers taking turns round after
round (who goes first rotates), each round on fresh storage.

    .venv/bin/python bench/registry_put.py [--rounds 12] [--size-mb 256] [--baseline DIR ...]

Per server: the median MB/s of the first PUT (a new blob: received, hashed
and stored) and of the second (the same blob: received and hashed only),
and the server's CPU seconds per PUT, which vary much less than wall time
on a machine shared with other work. Run it from outside any checkout (a
checkout in the working directory would shadow the others' code).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = str(Path(__file__).resolve().parent.parent)
sys.path.insert(0, REPO)

from bench.registry import (MiB, Registry, distribution_command, free_port, running,  # noqa: E402
                            write_file)


def server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pyreg_in(checkout: str, root: Path, port: int) -> tuple[list[str], dict, str]:
    command = [sys.executable, "-m", "pyreg_cli.main", "serve", "--addr", f"127.0.0.1:{port}",
               "--storage", str(root), "--workers", "1"]
    return command, dict(os.environ, PYTHONPATH=checkout), checkout


def one_round(name: str, checkout: str | None, work: Path, big: tuple[Path, str, int]) -> tuple:
    """(MB/s new, MB/s known, CPU s new, CPU s known) for one fresh server."""
    path, digest, size = big
    port, root = free_port(), work / f"{name}-storage"
    if checkout is None:
        command, env, cwd = distribution_command(root, port, work), None, None
    else:
        command, env, cwd = pyreg_in(checkout, root, port)
    url = f"http://127.0.0.1:{port}"
    try:
        with running(command, url, work / f"{name}.log", env=env, cwd=cwd) as process:
            subprocess.run(["sync"], check=True)
            time.sleep(1)  # let the disk finish the last round's deletions
            figures = []
            for _ in range(2):
                before = server_cpu(process.pid)
                with open(path, "rb") as file:
                    seconds = Registry(url).put_blob(file, size, digest)
                figures.append((size / 1e6 / seconds, server_cpu(process.pid) - before))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return figures[0][0], figures[1][0], figures[0][1], figures[1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--baseline", action="append", default=[], metavar="DIR",
                        help="another checkout to measure in the same rounds (repeatable)")
    args = parser.parse_args()
    servers = {"pyreg": REPO, **{f"baseline{i + 1}": str(Path(d).resolve())
                                 for i, d in enumerate(args.baseline)}, "distribution": None}
    results: dict[str, list[tuple]] = {name: [] for name in servers}
    with tempfile.TemporaryDirectory(prefix="pyreg-bench-put-") as temp:
        work, size = Path(temp), args.size_mb * MiB
        big = (work / "big.bin", write_file(work / "big.bin", size), size)
        names = list(servers)
        for number in range(args.rounds):
            for name in names[number % len(names):] + names[:number % len(names)]:
                results[name].append(one_round(name, servers[name], work, big))
    print(f"{args.size_mb} MiB monolithic PUT, {args.rounds} rounds, load average {os.getloadavg()[0]:.1f}")
    for name, rows in results.items():
        new, known, cpu_new, cpu_known = (statistics.median(column) for column in zip(*rows))
        where = f"  ({servers[name]})" if name.startswith("baseline") else ""
        print(f"  {name:13} new blob {new:5.0f} MB/s, known blob {known:5.0f} MB/s, "
              f"server CPU {cpu_new:.2f} / {cpu_known:.2f} s{where}")
    for name in results:
        if name != "pyreg":
            ratio = statistics.median(r[0] for r in results["pyreg"]) / statistics.median(
                r[0] for r in results[name])
            print(f"  pyreg/{name} (new blob) = {ratio:.2f}x")


if __name__ == "__main__":
    main()
