"""Bridge networks end to end, in a sandbox namespace standing in for the
host: published ports reach a container from the sandbox's 127.0.0.1 and
from its other address; containers of one network reach each other by name
and alias, containers of another cannot reach them."""
from __future__ import annotations

import os
import select
import socket
import subprocess
import sys

import pytest

from runtime.netplumb import attach, links, ports
from runtime.netplumb.attach import Member
from runtime.netplumb.errors import NetworkError
from runtime.netplumb.store import NetworkStore
from tests.runtime.netplumb.sandbox import http_get, request_inside, wait_until


def container_id() -> str:
    return os.urandom(32).hex()


def test_published_ports_answer_on_loopback_and_other_addresses(sandbox, net_root):
    other = sandbox.uplink()
    member = Member(container_id(), name="web")
    publish = [ports.parse("127.0.0.1:18080:80"), ports.parse("18081:80"), ports.parse("80")]
    attachment = attach.connect(net_root, "bridge", member, publish=publish)
    sandbox.serve(attachment.netns, "hello from the bridge\n")
    chosen = attachment.lease.ports[2].host_port
    assert attachment.network.bridge == "pyreg0" and attachment.network.subnet == "172.17.0.0/16"
    assert attachment.lease.address == "172.17.0.2" and chosen > 0
    assert http_get("127.0.0.1", 18080) == "hello from the bridge\n"
    assert http_get(other, 18081) == "hello from the bridge\n"
    assert http_get("127.0.0.1", 18081) == "hello from the bridge\n"
    assert http_get(other, chosen) == "hello from the bridge\n"
    with pytest.raises(AssertionError):
        http_get(other, 18080, timeout=1)  # bound to 127.0.0.1 only
    attachment.close_sockets()
    attach.disconnect(net_root, member.container_id)


def unshared(sandbox, *command: str, **kwargs) -> subprocess.Popen:
    """A process in a network namespace of its own, once it is there."""
    process = sandbox.spawn("unshare", "--net", *command, **kwargs)
    own = os.stat("/proc/thread-self/ns/net").st_ino
    wait_until(lambda: os.stat(f"/proc/{process.pid}/ns/net").st_ino != own, "the unshare")
    return process


def test_a_container_joined_by_pid_reaches_out_through_nat(sandbox, net_root):
    """The far end of the sandbox's uplink moves into a namespace of its own,
    standing for a remote host that knows no route to the container's
    subnet: its TCP connection works only if masquerade does its job."""
    sandbox.uplink()
    remote = unshared(sandbox, "busybox", "nc", "-l", "-p", "9000", stdout=subprocess.PIPE)
    subprocess.run(["ip", "link", "set", "up1", "netns", str(remote.pid)], check=True)
    for command in (["ip", "addr", "add", "198.51.100.1/24", "dev", "up1"], ["ip", "link", "set", "up1", "up"]):
        subprocess.run(["nsenter", "-t", str(remote.pid), "--net", *command], check=True)
    container = unshared(sandbox, "sleep", "60")
    attachment = attach.connect(net_root, "bridge", Member(container_id()), target=container.pid)
    sent = subprocess.run(["nsenter", "-t", str(container.pid), "--net", "busybox", "nc", "-w", "2",
                           "198.51.100.1", "9000"], input=b"through nat\n", capture_output=True, timeout=15)
    assert sent.returncode == 0, sent.stderr
    assert remote.communicate(timeout=15)[0] == b"through nat\n"
    attach.disconnect(net_root, attachment.lease.container_id)
    assert attachment.lease.veth not in links.link_names()


def test_containers_of_one_network_reach_each_other_by_name_not_across(sandbox, net_root, tmp_path):
    store = NetworkStore(net_root)
    front, back = store.create("front"), store.create("back", subnet="10.99.0.0/24")
    assert front.subnet == "172.18.0.0/16" and front.bridge.startswith("pyreg-")
    web = member(tmp_path, "web", aliases=("www",))
    web_at = attach.connect(net_root, "front", web)
    web_box = sandbox.serve(web_at.netns, "web\n", web.hosts_file)
    client = member(tmp_path, "client")
    client_box = sandbox.serve(attach.connect(net_root, "front", client).netns, "client\n", client.hosts_file)
    stranger = member(tmp_path, "stranger")
    stranger_at = attach.connect(net_root, "back", stranger)
    stranger_box = sandbox.serve(stranger_at.netns, "stranger\n", stranger.hosts_file)
    for name in ("web", "www", web.container_id[:12]):
        answer = wait_until(lambda: request_inside(sandbox, client_box, name).stdout or None, name)
        assert answer.endswith(b"web\n")
    # web's hosts file was written before client existed: it sees client now
    assert request_inside(sandbox, web_box, "client").stdout.endswith(b"client\n")
    refused = request_inside(sandbox, stranger_box, web_at.lease.address)
    assert refused.returncode != 0 and b"web" not in refused.stdout
    assert request_inside(sandbox, stranger_box, "web").returncode != 0  # no such name there
    assert request_inside(sandbox, web_box, stranger_at.lease.address).returncode != 0
    for one in (web, client, stranger):
        attach.disconnect(net_root, one.container_id)


def member(tmp_path, name: str, aliases=()) -> Member:
    hosts = tmp_path / f"{name}.hosts"
    hosts.write_text("")
    return Member(container_id(), name=name, hostname=name, aliases=aliases, hosts_file=str(hosts))


def test_internal_networks_refuse_published_ports(sandbox, net_root):
    NetworkStore(net_root).create("vault", internal=True)
    with pytest.raises(NetworkError, match="internal: ports cannot be published"):
        attach.connect(net_root, "vault", Member(container_id()), publish=[ports.parse("80")])


UDP_LISTENER = """
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("0.0.0.0", 5353))
sys.stdout.buffer.write(sock.recv(100))
"""


def test_udp_ports_and_the_network_mtu_reach_the_container(sandbox, net_root):
    NetworkStore(net_root).create("small", subnet="10.98.0.0/24", mtu=1400)
    member = Member(container_id())
    attachment = attach.connect(net_root, "small", member, publish=[ports.parse("127.0.0.1::5353/udp")])
    inside = ["nsenter", f"--net={attachment.netns}"]
    link = subprocess.run([*inside, "ip", "-o", "link", "show", "eth0"], capture_output=True, text=True)
    route = subprocess.run([*inside, "ip", "route", "show", "default"], capture_output=True, text=True)
    assert " mtu 1400 " in link.stdout and route.stdout.startswith("default via 10.98.0.1 dev eth0")
    listener = sandbox.spawn(*inside, sys.executable, "-c", UDP_LISTENER, stdout=subprocess.PIPE)
    wait_until(lambda: ":14E9 " in subprocess.run([*inside, "cat", "/proc/net/udp"], capture_output=True,
                                                  text=True).stdout, "the UDP listener")
    host_port = attachment.lease.ports[0].host_port  # its reservation socket stays bound: DNAT runs first
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"over udp\n", ("127.0.0.1", host_port))
        ready = select.select([listener.stdout], [], [], 15)[0]
    assert ready and os.read(listener.stdout.fileno(), 100) == b"over udp\n"
    listener.kill()
    attachment.close_sockets()
    attach.disconnect(net_root, member.container_id)
