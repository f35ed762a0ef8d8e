"""Registry benchmark: pyreg against Distribution 2.8.2 in one run, on this
machine, both on filesystem storage in a temporary directory.

    python3 -m bench.registry [--quick] [--workers N] [--seconds S] [--workdir DIR]
                              [--only throughput,auth,catalog,startup]

Measured for each server (one at a time, so they never share the CPUs):
manifest GET and HEAD and 1 KiB blob GET requests/s at 32 connections (wrk
when installed, else an aiohttp load generator in its own process), a
256 MiB monolithic blob PUT streamed from a file and its GET in MB/s; and
for pyreg its peak RSS (all its processes, from /proc) while 8 clients each
stream a 1 GiB blob; manifest GET requests/s with token auth on (see
bench/registry_auth.py); a catalog page at 2,000 and 10,000 repositories and
the time from exec to the first answer (see bench/registry_catalog.py). Prints
one table with the ratios, pyreg's advantage above 1 (for times, the
distribution/pyreg ratio).
Every process it starts runs in its own session and is stopped, with all
its children, before the benchmark exits.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

MiB = 1 << 20
CONNECTIONS = 32
REPO = "bench/app"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DISTRIBUTION_CONFIG = """version: 0.1
log: {{level: error, accesslog: {{disabled: true}}}}
storage: {{filesystem: {{rootdirectory: {root}}}, delete: {{enabled: true}}}}
http: {{addr: "127.0.0.1:{port}"}}
"""


@dataclass(frozen=True)
class Sizes:
    big_blob: int
    upload_clients: int
    upload_blob: int
    seconds: float


FULL = Sizes(big_blob=256 * MiB, upload_clients=8, upload_blob=1024 * MiB, seconds=10)
QUICK = Sizes(big_blob=32 * MiB, upload_clients=8, upload_blob=64 * MiB, seconds=3)


# -- processes ------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running(command: list[str], base_url: str, log_path: Path, env: dict | None = None,
            cwd: str | None = None) -> Iterator[subprocess.Popen]:
    """Start a server in its own session, wait for /v2/, and stop the whole group after."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                   env=env, cwd=cwd)
    try:
        deadline = time.monotonic() + 30
        while not _answers(f"{base_url}/v2/"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not start; its log:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield process
    finally:
        _stop_group(process)


def _answers(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    try:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=1)
        connection.request("GET", parts.path)
        connection.getresponse().read()
        return True
    except OSError:
        return False


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the server's whole session, give it 10 s, then SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        process.poll()  # reap the leader so it stops counting as alive
        if not _group_alive(process.pid):
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _group_alive(group: int) -> bool:
    return any(_proc_stat(pid)[2] == group for pid in _pids())


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _proc_stat(pid: int) -> list[int]:
    """The numeric fields of /proc/PID/stat after the command name (state counts as 0)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return [0, 0, -1] + [0] * 30
    fields = text[text.rindex(")") + 2:].split()
    return [0] + [int(value) for value in fields[1:]]


def group_rss(group: int) -> int:
    """Resident bytes of every process in a process group (a server and its workers)."""
    page = os.sysconf("SC_PAGE_SIZE")
    return sum(stat[21] * page for stat in map(_proc_stat, _pids()) if stat[2] == group)


def pyreg_command(root: Path, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "pyreg_cli.main", "serve", "--addr", f"127.0.0.1:{port}",
            "--storage", str(root), "--workers", str(workers)]


def distribution_binary() -> str:
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not os.path.exists(binary):
        raise SystemExit("docker-registry (Distribution 2.8.2) is not installed: apt-get install docker-registry")
    return binary


def distribution_command(root: Path, port: int, workdir: Path) -> list[str]:
    config = workdir / "distribution.yml"
    config.write_text(DISTRIBUTION_CONFIG.format(root=root, port=port))
    return [distribution_binary(), "serve", str(config)]


# -- HTTP as a registry client ---------------------------------------------------------
class Registry:
    def __init__(self, base_url: str, headers: dict[str, str] | None = None):
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.headers = headers or {}  # on every call (an Authorization, say)

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=900, blocksize=MiB)

    def call(self, method: str, path: str, body=None, headers: dict | None = None,
             expect: int = 200) -> http.client.HTTPResponse:
        connection = self.connect()
        connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        response = connection.getresponse()
        response.read()
        if response.status != expect:
            raise RuntimeError(f"{method} {path}: HTTP {response.status}, wanted {expect}")
        return response

    def start_upload(self) -> str:
        response = self.call("POST", f"/v2/{REPO}/blobs/uploads/", b"", expect=202)
        return _path_of(response.headers["Location"])

    def put_blob(self, body, size: int, digest: str) -> float:
        """A monolithic upload (POST, then PUT ?digest= with the body); seconds for the PUT."""
        location = self.start_upload()
        started = time.perf_counter()
        self.call("PUT", _with_query(location, digest=digest), body,
                  {"Content-Length": str(size), "Content-Type": "application/octet-stream"}, expect=201)
        return time.perf_counter() - started

    def stream_blob(self, size: int, seed: int) -> None:
        """POST, one streamed PATCH of generated bytes hashed as they go, PUT ?digest=."""
        location, hasher = self.start_upload(), hashlib.sha256()
        connection = self.connect()
        connection.putrequest("PATCH", location)
        connection.putheader("Content-Type", "application/octet-stream")
        connection.putheader("Content-Length", str(size))
        connection.endheaders()
        for chunk in generated_chunks(size, seed):
            hasher.update(chunk)
            connection.send(chunk)
        response = connection.getresponse()
        response.read()
        if response.status != 202:
            raise RuntimeError(f"PATCH {location}: HTTP {response.status}")
        digest = "sha256:" + hasher.hexdigest()
        self.call("PUT", _with_query(_path_of(response.headers["Location"]), digest=digest), b"", expect=201)

    def get_blob(self, digest: str) -> tuple[float, int]:
        """Seconds and bytes for one blob GET, read into a reused buffer."""
        connection, buffer = self.connect(), bytearray(MiB)
        started = time.perf_counter()
        connection.request("GET", f"/v2/{REPO}/blobs/{digest}")
        response, received = connection.getresponse(), 0
        while count := response.readinto(buffer):
            received += count
        if response.status != 200:
            raise RuntimeError(f"GET blob {digest}: HTTP {response.status}")
        return time.perf_counter() - started, received


def _path_of(location: str) -> str:
    parts = urllib.parse.urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _with_query(path: str, **params: str) -> str:
    return path + ("&" if "?" in path else "?") + urllib.parse.urlencode(params)


def generated_chunks(size: int, seed: int) -> Iterator[bytes]:
    """Distinct 1 MiB chunks made on the fly: memory stays flat for any size."""
    block = random.Random(seed).randbytes(MiB)
    for number, start in enumerate(range(0, size, MiB)):
        yield (number.to_bytes(8, "big") + block[8:])[:size - start]


def write_file(path: Path, size: int) -> str:
    hasher = hashlib.sha256()
    with open(path, "wb") as file:
        for chunk in generated_chunks(size, seed=256):
            hasher.update(chunk)
            file.write(chunk)
    return "sha256:" + hasher.hexdigest()


def seed_image(registry: Registry) -> dict[str, str]:
    """The same tiny image in every server: a config, a 1 KiB layer, a tagged manifest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
    layer = random.Random(1).randbytes(1024)
    digests = {}
    for name, blob in (("config", config), ("layer", layer)):
        digests[name] = "sha256:" + hashlib.sha256(blob).hexdigest()
        registry.put_blob(blob, len(blob), digests[name])
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": digests["config"], "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": digests["layer"], "size": len(layer)}]}).encode()
    registry.call("PUT", f"/v2/{REPO}/manifests/v1", manifest, {"Content-Type": OCI_MANIFEST}, expect=201)
    return digests


# -- load ---------------------------------------------------------------------------------
def requests_per_second(url: str, method: str, accept: str | None, seconds: float, workdir: Path,
                        headers: dict[str, str] | None = None) -> float:
    """By the tool load_tool names; `headers` go with every request."""
    headers = {**({"Accept": accept} if accept else {}), **(headers or {})}
    tool = load_tool(method, bool(headers.keys() - {"Accept"}))
    if tool == "ab":
        rate = _ab(url, method, headers, seconds)
    elif tool == "wrk":
        rate = _wrk(url, method, headers, seconds, workdir)
    else:
        command = [sys.executable, "-m", "bench.registry", "--load-generator", url, method,
                   json.dumps(headers), str(seconds)]
        rate = float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    if rate <= 0:
        raise RuntimeError(f"{method} {url}: no request completed")
    return rate


def load_tool(method: str, authorized: bool = False) -> str:
    """wrk for GET; ab for HEAD (wrk waits for a HEAD response's body, and
    stalls), and for the token-auth row when wrk is missing (a Python load
    generator takes CPU from the servers); else the aiohttp generator."""
    if method != "HEAD" and shutil.which("wrk"):
        return "wrk"
    if (method == "HEAD" or authorized) and shutil.which("ab"):
        return "ab"
    return "aiohttp"


def _ab(url: str, method: str, headers: dict[str, str], seconds: float) -> float:
    command = ["ab", "-q", "-k", "-c", str(CONNECTIONS), "-t", f"{seconds:g}", "-n", "100000000"]
    command += ["-i"] if method == "HEAD" else []
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    failed = re.search(r"Failed requests:\s+(\d+)", output)
    if (failed and int(failed.group(1))) or "Non-2xx responses" in output:
        raise RuntimeError(f"{method} {url} had failures under load:\n{output}")
    return float(re.search(r"Requests per second:\s+([\d.]+)", output).group(1))


def _wrk(url: str, method: str, headers: dict[str, str], seconds: float, workdir: Path) -> float:
    script = workdir / "wrk.lua"
    script.write_text(f'wrk.method = "{method}"\n'
                      + "".join(f'wrk.headers["{name}"] = "{value}"\n' for name, value in headers.items()))
    output = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(script), url],
                            capture_output=True, text=True, check=True).stdout
    failures = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if failures or "Socket errors" in output:
        raise RuntimeError(f"{method} {url} had failures under load:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def load_generator(url: str, method: str, headers_json: str, seconds: float) -> None:
    """The fallback without wrk: CONNECTIONS aiohttp clients in this (separate) process."""
    import asyncio

    import aiohttp

    async def run() -> int:
        headers = json.loads(headers_json)
        deadline, count = time.monotonic() + seconds, 0
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as session:
            async def client() -> None:
                nonlocal count
                while time.monotonic() < deadline:
                    async with session.request(method, url, headers=headers) as response:
                        await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"{method} {url}: HTTP {response.status}")
                    count += 1
            await asyncio.gather(*(client() for _ in range(CONNECTIONS)))
        return count

    print(asyncio.run(run()) / seconds)


# -- the measures ----------------------------------------------------------------------
@dataclass
class Server:
    url: str
    registry: Registry
    digests: dict[str, str]


def measures(sizes: Sizes, big: tuple[Path, str], workdir: Path) -> dict:
    """Each row: a function of one seeded server giving a number (higher is better)."""
    path, digest = big
    megabytes = sizes.big_blob / 1e6

    def load(kind: str, method: str):
        def measure(server: Server) -> float:
            if kind == "manifest":
                url, accept = f"{server.url}/v2/{REPO}/manifests/v1", OCI_MANIFEST
            else:
                url, accept = f"{server.url}/v2/{REPO}/blobs/{server.digests['layer']}", None
            requests_per_second(url, method, accept, 1, workdir)  # warm up caches and imports
            return requests_per_second(url, method, accept, sizes.seconds, workdir)
        return measure

    def put(server: Server) -> float:
        best = float("inf")
        for _ in range(2):
            with open(path, "rb") as file:
                best = min(best, server.registry.put_blob(file, sizes.big_blob, digest))
        return megabytes / best

    def get(server: Server) -> float:
        return megabytes / min(server.registry.get_blob(digest)[0] for _ in range(2))

    return {"manifest GET (req/s)": load("manifest", "GET"),
            "manifest HEAD (req/s)": load("manifest", "HEAD"),
            "1 KiB blob GET (req/s)": load("blob", "GET"),
            f"{sizes.big_blob // MiB} MiB blob PUT (MB/s)": put,
            f"{sizes.big_blob // MiB} MiB blob GET (MB/s)": get}  # after PUT: the blob exists


def peak_rss_during_uploads(base_url: str, group: int, sizes: Sizes) -> tuple[int, int, float]:
    """Baseline and peak RSS of the server's processes while clients stream blobs; seconds taken."""
    registry, baseline, peak, done = Registry(base_url), group_rss(group), 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, group_rss(group))
            time.sleep(0.05)

    errors: list[BaseException] = []

    def client(seed: int) -> None:
        try:
            registry.stream_blob(sizes.upload_blob, seed)
        except BaseException as error:  # reported after all threads finish
            errors.append(error)

    sampler = threading.Thread(target=sample)
    clients = [threading.Thread(target=client, args=(seed,)) for seed in range(sizes.upload_clients)]
    started = time.perf_counter()
    for thread in [sampler, *clients]:
        thread.start()
    for thread in clients:
        thread.join()
    done.set()
    sampler.join()
    if errors:
        raise RuntimeError(f"upload failed: {errors[0]}")
    return baseline, peak, time.perf_counter() - started


def print_table(pyreg: dict[str, float], distribution: dict[str, float], notes: list[str]) -> None:
    width = max(34, *(len(name) for name in pyreg))
    print(f"\n{'measure':{width}} {'pyreg':>12} {'distribution':>13} {'ratio':>7}")
    for name, value in pyreg.items():
        other = distribution.get(name)
        better = (other / value if "lower is better" in name else value / other) if other else None
        ratio = f"{better:7.2f}" if better else f"{'-':>7}"
        other_text = f"{other:13.1f}" if other else f"{'-':>13}"
        print(f"{name:{width}} {value:12.1f} {other_text} {ratio}")
    for note in notes:
        print(note)


@contextlib.contextmanager
def both_over(root: Path, work: Path) -> Iterator[dict[str, int]]:
    """pyreg and Distribution serving the same storage directory; yields their ports."""
    ports = {"pyreg": free_port(), "distribution": free_port()}
    commands = {"pyreg": pyreg_command(root, ports["pyreg"], 1),
                "distribution": distribution_command(root, ports["distribution"], work)}
    with contextlib.ExitStack() as stack:
        for name, command in commands.items():
            stack.enter_context(running(command, f"http://127.0.0.1:{ports[name]}", work / f"{name}-catalog.log"))
        yield ports


def token_auth_rows(work: Path, workers: int, seconds: float) -> dict[str, dict[str, float]]:
    """Manifest GET requests/s with token auth on (bench/registry_auth.py), one server after the other."""
    from .registry_auth import LABEL, token, write_configs
    ports = {"pyreg": free_port(), "distribution": free_port()}
    configs = dict(zip(ports, write_configs(work, ports["pyreg"], ports["distribution"])))
    commands = {"pyreg": [*pyreg_command(work / "pyreg", ports["pyreg"], workers), "--config", str(configs["pyreg"])],
                "distribution": [distribution_binary(), "serve", str(configs["distribution"])]}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    with contextlib.ExitStack() as stack:
        for name, command in commands.items():  # pyreg first: it makes the key Distribution trusts
            stack.enter_context(running(command, urls[name], work / f"{name}-auth.log"))
        push, pull = (token(urls["pyreg"], f"repository:{REPO}:{actions}") for actions in ("pull,push", "pull"))
        for url in urls.values():
            seed_image(Registry(url, {"Authorization": f"Bearer {push}"}))
        bearer = {"Authorization": f"Bearer {pull}"}
        rows = {}
        for name, url in urls.items():  # back to back, so both see the same machine
            manifest = f"{url}/v2/{REPO}/manifests/v1"
            requests_per_second(manifest, "GET", OCI_MANIFEST, 1, work, bearer)  # warm up
            rows[name] = {LABEL: requests_per_second(manifest, "GET", OCI_MANIFEST, seconds, work, bearer)}
        return rows


def separate_rows(parts: set[str], work: Path, workers: int, seconds: float) -> dict[str, dict[str, float]]:
    """The rows whose servers are their own: token auth, catalog, start-up."""
    from .registry_catalog import REPOSITORY_COUNTS, catalog_rows, pyreg_executable, startup_rows
    results: dict[str, dict[str, float]] = {"pyreg": {}, "distribution": {}}
    if "auth" in parts:
        for name, rows in token_auth_rows(work / "auth", workers, seconds).items():
            results[name].update(rows)
    if "catalog" in parts:
        for count in REPOSITORY_COUNTS:
            for name, rows in catalog_rows(work, lambda root: both_over(root, work), count).items():
                results[name].update(rows)
    if "startup" in parts:
        for name in ("pyreg", "distribution"):
            (work / f"startup-{name}").mkdir(exist_ok=True)
        def pyreg_serving(workers: int):
            return lambda port: [*pyreg_executable(), "serve", "--addr", f"127.0.0.1:{port}",
                                 "--storage", str(work / "startup-pyreg"), "--workers", str(workers)]
        commands = {"pyreg": pyreg_serving(1), "pyreg --workers 2": pyreg_serving(2),
                    "distribution": lambda port: distribution_command(work / "startup-distribution", port, work)}
        for name, rows in startup_rows(commands, free_port).items():
            if name == "pyreg --workers 2":
                rows = {label.replace("start", "start, --workers 2"): value for label, value in rows.items()}
                name = "pyreg"
            results[name].update(rows)
    return results


def run(args: argparse.Namespace) -> None:
    parts = set(args.only.split(","))
    if not parts <= {"throughput", "auth", "catalog", "startup"}:
        raise SystemExit(f"--only takes throughput, auth, catalog and startup, not {args.only}")
    sizes = QUICK if args.quick else FULL
    if args.seconds:
        sizes = Sizes(sizes.big_blob, sizes.upload_clients, sizes.upload_blob, args.seconds)
    if "throughput" not in parts:
        with tempfile.TemporaryDirectory(prefix="pyreg-bench-", dir=args.workdir) as temp:
            results = separate_rows(parts, Path(temp), args.workers, sizes.seconds)
        notes = [f"\npyreg --workers {args.workers}; token-auth load by {load_tool('GET', True)} at "
                 f"{CONNECTIONS} connections for {sizes.seconds:g}s"] if "auth" in parts else []
        print_table(results["pyreg"], results["distribution"], notes)
        return
    with tempfile.TemporaryDirectory(prefix="pyreg-bench-", dir=args.workdir) as temp, \
            contextlib.ExitStack() as stack:
        work = Path(temp)
        big = (work / "big.bin", write_file(work / "big.bin", sizes.big_blob))
        ports = {"pyreg": free_port(), "distribution": free_port()}
        commands = {"pyreg": pyreg_command(work / "pyreg", ports["pyreg"], args.workers),
                    "distribution": distribution_command(work / "distribution", ports["distribution"], work)}
        servers, processes = {}, {}
        for name, command in commands.items():  # both run; the idle one costs no CPU
            url = f"http://127.0.0.1:{ports[name]}"
            processes[name] = stack.enter_context(running(command, url, work / f"{name}.log"))
            servers[name] = Server(url, Registry(url), seed_image(Registry(url)))
        results: dict[str, dict[str, float]] = {name: {} for name in servers}
        for row, measure in measures(sizes, big, work).items():
            for name, server in servers.items():  # back to back, so both see the same machine
                results[name][row] = measure(server)
        baseline, peak, seconds = peak_rss_during_uploads(servers["pyreg"].url, processes["pyreg"].pid, sizes)
        stack.close()  # the throughput servers stop before the catalog and start-up rows
        for name, rows in separate_rows(parts, work, args.workers, sizes.seconds).items():
            results[name].update(rows)
    label = f"peak RSS, {sizes.upload_clients} x {sizes.upload_blob // MiB} MiB uploads (MiB)"
    results["pyreg"][label] = peak / MiB
    total = sizes.upload_clients * sizes.upload_blob / 1e6
    print_table(results["pyreg"], results["distribution"], [
        f"\npyreg --workers {args.workers}; load by {load_tool('GET')} (GET), {load_tool('HEAD')} (HEAD) "
        f"and {load_tool('GET', True)} (token auth) at {CONNECTIONS} connections for {sizes.seconds:g}s "
        "per row; best of 2 for big blobs",
        f"pyreg RSS {baseline / MiB:.0f} MiB before the concurrent uploads; they took "
        f"{seconds:.1f}s ({total / seconds:.0f} MB/s together)"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller blobs and shorter runs")
    parser.add_argument("--workers", type=int, default=1, help="pyreg serve --workers (default 1)")
    parser.add_argument("--seconds", type=float, help="seconds of load per request-rate row")
    parser.add_argument("--workdir", help="where temporary storage goes (default: the system temp dir)")
    parser.add_argument("--only", default="throughput,auth,catalog,startup",
                        help="comma-separated parts to run (default: all)")
    parser.add_argument("--load-generator", nargs=4, metavar=("URL", "METHOD", "HEADERS", "SECONDS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_generator:
        url, method, headers, seconds = args.load_generator
        load_generator(url, method, headers, float(seconds))
        return
    run(args)


if __name__ == "__main__":
    main()
