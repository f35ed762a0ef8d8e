"""A network namespace per test, standing in for the host.

The `sandbox` fixture makes a namespace with `ip netns add` and moves the
test's own thread into it (setns is per thread), so every bridge, veth,
address, sysctl and nft rule that pyreg makes lands there; subprocesses
the test starts inherit it. "Containers" are child namespaces with busybox
httpd serving. Around each test the host's links, addresses, routes,
forwarding sysctls and nft ruleset are snapshotted, and must not change.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from runtime.kernel import linux

TOOLS = ("ip", "nft", "unshare", "nsenter", "busybox")
UPLINK_ADDRESS, UPLINK_GATEWAY = "198.51.100.2", "198.51.100.1"  # inside the sandbox only
DEADLINE = 15.0


def need_sandbox() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: network namespaces, bridges and nft rules")
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install iproute2 nftables busybox-static)")


def _run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def host_snapshot() -> dict:
    """What a test must leave as it found it, in the calling thread's namespace."""
    links = sorted((l["ifname"], l.get("link_type"), l.get("address")) for l in _json("ip", "-j", "link"))
    addresses = sorted((a["ifname"], i["family"], i["local"], i["prefixlen"])
                       for a in _json("ip", "-j", "addr") for i in a.get("addr_info", []))
    sysctls = {name: Path("/proc/sys/net/ipv4", name).read_text()
               for name in ("ip_forward", "conf/all/route_localnet")}
    return {"links": links, "addresses": addresses, "sysctls": sysctls,
            "routes": _run("ip", "route", "show", "table", "all"),
            "nft": _run("nft", "-s", "list", "ruleset")}


def _json(*args: str):
    import json
    return json.loads(_run(*args) or "[]")


def wait_until(predicate, what: str, timeout: float = DEADLINE):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Sandbox:
    def __init__(self, name: str, tmp: Path):
        self.name, self.path, self.tmp = name, f"/run/netns/{name}", tmp
        self.processes: list[subprocess.Popen] = []
        self.www = tmp / "www"
        self.www.mkdir()

    def spawn(self, *args: str, **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(args, stdin=kwargs.pop("stdin", subprocess.DEVNULL), **kwargs)
        self.processes.append(process)
        return process

    def uplink(self) -> str:
        """A second address of the sandbox, with a default route through it."""
        _run("ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1")
        _run("ip", "addr", "add", f"{UPLINK_ADDRESS}/24", "dev", "up0")
        _run("ip", "link", "set", "up0", "up")
        _run("ip", "link", "set", "up1", "up")
        _run("ip", "route", "add", "default", "via", UPLINK_GATEWAY)
        return UPLINK_ADDRESS

    def serve(self, netns_path: str, text: str, hosts_file: str | None = None) -> subprocess.Popen:
        """A "container": busybox httpd on port 80 in the namespace, with
        hosts_file bind-mounted on its /etc/hosts (in a mount namespace of
        its own, so the host's file stays as it is)."""
        root = self.tmp / f"www-{len(self.processes)}"
        root.mkdir()
        (root / "index.html").write_text(text)
        serve = f"exec nsenter --net={netns_path} busybox httpd -f -p 80 -h {root}"
        if hosts_file:
            serve = f"mount --bind {hosts_file} /etc/hosts && {serve}"
        return self.spawn("unshare", "--mount", "sh", "-c", serve)

    def inside(self, container: subprocess.Popen, *args: str, input: bytes = b"") -> subprocess.CompletedProcess:
        """Run a command in a served container's mount and network namespaces."""
        return subprocess.run(["nsenter", "-t", str(container.pid), "--mount", "--net", *args],
                              input=input, capture_output=True, timeout=DEADLINE)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()


def http_get(address: str, port: int, timeout: float = DEADLINE) -> str:
    """The body of GET / , retried until the server answers."""
    def attempt():
        try:
            with socket.create_connection((address, port), timeout=2) as sock:
                sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = b"".join(iter(lambda: sock.recv(65536), b""))
        except OSError:
            return None
        return data.partition(b"\r\n\r\n")[2].decode() or None
    return wait_until(attempt, f"an answer from {address}:{port}", timeout)


def request_inside(sandbox: Sandbox, container, host: str) -> subprocess.CompletedProcess:
    return sandbox.inside(container, "busybox", "nc", "-w", "2", host, "80",
                          input=b"GET / HTTP/1.0\r\n\r\n")


@pytest.fixture
def sandbox(tmp_path):
    need_sandbox()
    before = host_snapshot()
    name = f"pyregt-{os.urandom(4).hex()}"
    _run("ip", "netns", "add", name)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    box = Sandbox(name, tmp_path)
    try:
        linux.setns(target, linux.CLONE_NEWNET)
        _run("ip", "link", "set", "lo", "up")
        yield box
    finally:
        box.close()
        linux.setns(home, linux.CLONE_NEWNET)
        os.close(home)
        os.close(target)
        _run("ip", "netns", "del", name)
    assert host_snapshot() == before, "the host's networking changed"
