"""Leases and teardown: addresses are never shared and come back after
release, concurrent attaches queue on the lock, and nothing is left behind
after a disconnect, after a kill -9 of the holder and a sweep, or after any
refused attach."""
from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys

import pytest

from runtime import paths
from runtime.netplumb import attach, links, netns, nftables, ports
from runtime.netplumb.attach import Member
from runtime.netplumb.errors import NetworkError
from runtime.netplumb.store import NetworkStore
from tests.runtime.conftest import REPO


def leftovers(root: str) -> dict:
    """Everything an attached container adds; empty when none is attached."""
    names = links.link_names()
    mounts = [line for line in open("/proc/self/mountinfo") if root in line]
    found = {"veths": sorted(n for n in names if n.startswith("pyv")),
             "bridges": sorted(n for n in names if n.startswith("pyreg")),
             "table": nftables.table_handle(),
             "leases": sorted(glob.glob(os.path.join(paths.networks(root), "*", "leases", "*"))),
             "namespaces": sorted(glob.glob(os.path.join(paths.netns(root), "*"))),
             "mounts": mounts}
    return {key: value for key, value in found.items() if value}


def owner(root: str, network: str, *published: str, env=None) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen([sys.executable, "-m", "tests.runtime.netplumb.owner", root, network,
                                *published], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=REPO, env={**os.environ, **(env or {})})
    line = process.stdout.readline()
    assert line, process.communicate(timeout=15)[1].decode()
    return process, json.loads(line)


def new_member(**fields) -> Member:
    return Member(os.urandom(32).hex(), **fields)


def test_addresses_are_not_reused_while_held_and_are_after(sandbox, net_root):
    first = attach.connect(net_root, "bridge", new_member())
    second = attach.connect(net_root, "bridge", new_member())
    assert (first.lease.address, second.lease.address) == ("172.17.0.2", "172.17.0.3")
    with pytest.raises(NetworkError, match="172.17.0.3 is already in use on network bridge"):
        attach.connect(net_root, "bridge", new_member(), ip="172.17.0.3")
    attach.disconnect(net_root, first.lease.container_id)
    third = attach.connect(net_root, "bridge", new_member())
    assert third.lease.address == "172.17.0.2"
    for attachment in (second, third):
        attach.disconnect(net_root, attachment.lease.container_id)
    assert leftovers(net_root) == {}


def test_concurrent_attaches_get_distinct_addresses(sandbox, net_root):
    NetworkStore(net_root).create("busy", subnet="10.77.0.0/29")  # 5 addresses for containers
    started = [subprocess.Popen([sys.executable, "-m", "tests.runtime.netplumb.owner", net_root, "busy"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=REPO) for _ in range(6)]
    answers = [process.stdout.readline() for process in started]
    addresses = sorted(json.loads(line)["address"] for line in answers if line)
    assert addresses == [f"10.77.0.{n}" for n in range(2, 7)]  # .1 is the gateway, .7 broadcast
    refused = [p for p, line in zip(started, answers) if not line]
    assert len(refused) == 1
    assert b"no free address left on network busy" in refused[0].communicate(timeout=15)[1]
    for process in started:
        process.communicate(timeout=30)
    assert leftovers(net_root) == {}


def test_a_killed_holder_is_swept_clean(sandbox, net_root):
    process, lease = owner(net_root, "bridge", "127.0.0.1:18090:80", "9999/udp")
    assert nftables.container_rules(lease["container_id"]) == [p["handle"] for p in lease["ports"]]
    assert set(leftovers(net_root)) == {"veths", "bridges", "table", "leases", "namespaces", "mounts"}
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert attach.sweep(net_root) == [lease["container_id"]]
    assert leftovers(net_root) == {}
    assert attach.sweep(net_root) == []  # again: nothing to do, nothing fails


def test_a_holder_that_cannot_fork_still_tears_down(sandbox, net_root):
    """pyreg's supervisor, once its container's PID namespace is gone, can
    no longer fork: the rules go through libnftables, not an nft child."""
    process, lease = owner(net_root, "bridge", "18094:80", env={"PYREG_TEST_NO_FORK": "1"})
    assert nftables.container_rules(lease["container_id"])
    _, stderr = process.communicate(b"", timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert leftovers(net_root) == {}


def test_a_lease_handed_over_lives_as_long_as_its_new_holder(sandbox, net_root):
    supervisor = sandbox.spawn("sleep", "60")
    attachment = attach.connect(net_root, "bridge", new_member())
    attach.hand_over(net_root, attachment.lease.container_id, supervisor.pid)
    assert attach.sweep(net_root) == []  # this process and the supervisor both live
    supervisor.kill()
    supervisor.wait()
    assert attach.sweep(net_root) == [attachment.lease.container_id]
    assert leftovers(net_root) == {}


def test_an_attach_after_a_kill_takes_the_dead_address_and_port(sandbox, net_root):
    process, lease = owner(net_root, "bridge", "127.0.0.1:18091:80")
    process.kill()
    process.wait()
    member = new_member()
    attachment = attach.connect(net_root, "bridge", member, publish=[ports.parse("127.0.0.1:18091:80")])
    assert attachment.lease.address == lease["address"]
    attachment.close_sockets()
    attach.disconnect(net_root, member.container_id)
    attach.disconnect(net_root, member.container_id)  # idempotent
    assert leftovers(net_root) == {}


def test_network_rm_is_refused_while_in_use(sandbox, net_root):
    store = NetworkStore(net_root)
    store.create("app")
    with pytest.raises(NetworkError, match="^network with name app already exists$"):
        store.create("app")
    attachment = attach.connect(net_root, "app", new_member())
    with pytest.raises(NetworkError, match="^error while removing network: network app id [0-9a-f]{64} "
                                           "has active endpoints$"):
        attach.remove_network(net_root, "app")
    with pytest.raises(NetworkError, match="pre-defined network and cannot be removed"):
        attach.remove_network(net_root, "bridge")
    attach.disconnect(net_root, attachment.lease.container_id)
    assert attach.remove_network(net_root, "app").name == "app"
    assert [n.name for n in store.list()] == ["bridge"]
    assert leftovers(net_root) == {}


@pytest.fixture
def held_port(sandbox):
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def refusals(held_port: int):
    yield "bridge", {"publish": [ports.parse(f"127.0.0.1:{held_port}:80")]}, \
        f"^host port 127.0.0.1:{held_port}/tcp is already in use$"
    yield "bridge", {"publish": [ports.parse("203.0.113.9:8080:80")]}, \
        "^host address 203.0.113.9 is not an address of this host$"
    yield "bridge", {"ip": "10.1.2.3"}, \
        r"^address 10.1.2.3 is not in network bridge's subnet 172.17.0.0/16$"
    yield "bridge", {"ip": "172.17.255.255"}, "is not in network bridge's subnet"
    yield "nowhere", {}, "^network nowhere not found$"


def test_refused_attaches_leave_nothing(sandbox, net_root, held_port):
    for network, options, message in refusals(held_port):
        with pytest.raises(NetworkError, match=message):
            attach.connect(net_root, network, new_member(), **options)
        assert leftovers(net_root) == {}, (network, options)


def test_a_port_published_by_another_container_is_refused(sandbox, net_root):
    first = attach.connect(net_root, "bridge", new_member(), publish=[ports.parse("18092:80")])
    with pytest.raises(NetworkError, match="already published by a container|already in use"):
        attach.connect(net_root, "bridge", new_member(), publish=[ports.parse("127.0.0.1:18092:80")])
    first.close_sockets()  # even without the socket the published record refuses it
    with pytest.raises(NetworkError, match="^host port 127.0.0.1:18092/tcp is already published"):
        attach.connect(net_root, "bridge", new_member(), publish=[ports.parse("127.0.0.1:18092:80")])
    attach.disconnect(net_root, first.lease.container_id)
    assert leftovers(net_root) == {}


def test_a_failure_late_in_the_attach_rolls_everything_back(sandbox, net_root, monkeypatch):
    """Without libnftables (nftables not installed) the attach fails at its
    rules, after the lease, namespace and bridge were made: all undone."""
    monkeypatch.setattr(nftables, "LIBRARY", "libnftables-not-installed.so.1")
    monkeypatch.setattr(nftables, "_library", None)
    with pytest.raises(NetworkError, match=r"^bridge networks need nftables: install it \(apt-get"):
        attach.connect(net_root, "bridge", new_member(), publish=[ports.parse("18093:80")])
    monkeypatch.undo()
    assert leftovers(net_root) == {}


def test_a_namespace_that_has_an_eth0_already_is_refused_cleanly(sandbox, net_root, tmp_path):
    path = str(tmp_path / "taken")
    netns.create(path)
    try:
        subprocess.run(["ip", "link", "add", "eth0", "netns", path, "type", "veth", "peer", "name", "x0",
                        "netns", path], check=True)
        with pytest.raises(NetworkError, match="^cannot create interface pyv[0-9a-f]{11}: File exists$"):
            attach.connect(net_root, "bridge", new_member(), target=path)
        assert leftovers(net_root) == {}
    finally:
        netns.remove(path)
