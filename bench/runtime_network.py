"""Runtime benchmark rows for networks, pyreg beside podman in the same run,
inside a network namespace the bench makes (`ip netns add`, entered with
nsenter so /sys and the cgroup mounts stay as they are): nothing touches
the host's own networking.

1. Start-up of `run --rm IMAGE true` on the default bridge network and with
   `--network none`, pyreg's and podman's (CNI bridge, runc), in
   alternating rounds.
2. TCP throughput container-to-host through a published port: the
   container's busybox `nc -l` sends MB megabytes from /dev/zero to
   whoever connects; the host connects to 127.0.0.1:PORT (published to it)
   and reads until it has every byte (counted: a short transfer fails the
   bench); the same for both, median of 3 alternating rounds.

    sudo python3 -m bench.runtime_network [--runs N] [--mb MB]
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.busybox_image import BUSYBOX_REF, build_busybox_image  # noqa: E402

PODMAN_IMAGE = "localhost/busybox:latest"  # no short-name lookup
PODMAN_FLAGS = ["--runtime", "runc", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]


def in_namespace(name: str, command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["nsenter", f"--net=/run/netns/{name}", *command], capture_output=True, **kwargs)


def timed(name: str, command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        result = in_namespace(name, command, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - began)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command[:3])} failed: {result.stderr.decode()[-500:]}")
    return times


def startup(name: str, pyreg: list[str], podman: list[str] | None, runs: int) -> dict[str, float]:
    commands = {f"pyreg run --rm --network {net}": [*pyreg, "run", "--rm", "--network", net, "busybox", "true"]
                for net in ("bridge", "none")}
    if podman:
        commands.update({f"podman run --rm --network {net}": [*podman, "run", "--rm", *PODMAN_FLAGS,
                                                             "--network", net, PODMAN_IMAGE, "true"]
                         for net in ("bridge", "none")})
    for command in commands.values():
        timed(name, command, 1)  # warm-up: snapshots, bridge, CNI cache
    samples: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):  # alternating: the machine's noise falls on all alike
        for label, command in commands.items():
            samples[label] += timed(name, command, 1)
    return {label: statistics.median(times) for label, times in samples.items()}


RECEIVER = """
import socket, sys, time
port, want = int(sys.argv[1]), int(sys.argv[2])
deadline = time.monotonic() + 10
while True:  # the container's nc listens once it has started
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
buffer, got, began = bytearray(1 << 20), 0, time.perf_counter()
while got < want:
    n = sock.recv_into(buffer)
    if not n:
        break
    got += n
print(got, time.perf_counter() - began)
"""


def throughput(name: str, base: list[str], run_flags: list[str], megabytes: int, port: int) -> float:
    """MB/s of megabytes the host received from the container's nc -l through -p."""
    image = PODMAN_IMAGE if run_flags else "busybox"
    started = in_namespace(name, [*base, "run", *run_flags, "-d", "-p", f"127.0.0.1:{port}:5000", image, "sh", "-c",
                                  f"head -c {megabytes}m /dev/zero | nc -l -p 5000"])
    if started.returncode != 0:
        raise SystemExit(f"throughput container failed: {started.stderr.decode()[-300:]}")
    container = started.stdout.decode().split()[-1]
    try:
        received = in_namespace(name, [sys.executable, "-c", RECEIVER, str(port), str(megabytes << 20)],
                                timeout=300)
    finally:
        in_namespace(name, [*base, "rm", "-f", container])
    if received.returncode != 0:
        raise SystemExit(f"receiving failed: {received.stderr.decode()[-300:]}")
    got, elapsed = received.stdout.decode().split()
    if int(got) != megabytes << 20:
        raise SystemExit(f"{base[0]}: received {got} of {megabytes << 20} bytes")
    return megabytes / float(elapsed)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--mb", type=int, default=1000)
    args = parser.parse_args()
    name = f"pyreg-bench-{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="pyreg-netbench-"))
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        in_namespace(name, ["ip", "link", "set", "lo", "up"], check=True)
        root = work / "root"
        build_busybox_image(root)
        pyreg = [str(REPO / ".venv/bin/python"), "-m", "pyreg_cli.main", "--root", str(root)]
        podman = None
        if shutil.which("podman"):
            podman = ["podman", "--root", str(work / "podman"), "--runroot", str(work / "podman-run")]
            image = in_namespace(name, [*podman, "pull", "-q", f"oci:{root / 'images'}:{BUSYBOX_REF}"])
            in_namespace(name, [*podman, "tag", image.stdout.decode().strip(), PODMAN_IMAGE], check=True)
        print(f"start-up, median of {args.runs} alternating rounds (seconds):")
        medians = startup(name, pyreg, podman, args.runs)
        for label, value in medians.items():
            print(f"  {label:<36} {value:.3f}")
        if podman:
            for net in ("bridge", "none"):
                ratio = medians[f"pyreg run --rm --network {net}"] / medians[f"podman run --rm --network {net}"]
                print(f"  pyreg/podman --network {net}: {ratio:.2f}")
        rates: dict = {}
        peers = [("pyreg", pyreg, [])] + ([("podman", podman, PODMAN_FLAGS)] if podman else [])
        for round_number in range(3):  # alternating rounds
            for label, base, flags in peers:
                rate = throughput(name, base, flags, args.mb, 18201 + round_number)
                rates.setdefault(label, []).append(rate)
        for label in list(rates):
            rates[label] = statistics.median(rates[label])
        for label in rates:
            print(f"  TCP container -> host through -p, {label}: {rates[label]:.0f} MB/s "
                  f"(median of 3, {args.mb} MB each)")
        if len(rates) == 2:
            print(f"  pyreg/podman throughput: {rates['pyreg'] / rates['podman']:.2f}")
    finally:
        if podman:
            in_namespace(name, [*podman, "rm", "-af"])
            in_namespace(name, [*podman, "system", "reset", "-f"])
        subprocess.run(["ip", "netns", "del", name])
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
