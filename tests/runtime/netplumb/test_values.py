"""The parts that need no root: -p parsing, subnet choice, leases on disk,
the nft commands, the hosts and resolv.conf texts, the rootless helper's
command line."""
from __future__ import annotations

import ipaddress
import os

import pytest

from runtime.netplumb import hostsfile, ipam, nftrules, ports, rootless
from runtime.netplumb.errors import NetworkError
from runtime.netplumb.records import Lease, Network, PortBinding
from runtime.netplumb.store import NetworkStore

PORTS = [
    ("80", PortBinding(host_port=0, container_port=80)),
    ("8080:80", PortBinding(host_port=8080, container_port=80)),
    ("127.0.0.1:8080:80/udp", PortBinding(host_ip="127.0.0.1", host_port=8080, container_port=80, proto="udp")),
    ("127.0.0.1::80", PortBinding(host_ip="127.0.0.1", host_port=0, container_port=80)),
    ("0.0.0.0:53:53/udp", PortBinding(host_port=53, container_port=53, proto="udp")),
]
BAD_PORTS = [
    ("80/sctp", "invalid port '80/sctp': the protocol must be tcp or udp"),
    ("8000-8010:80", "invalid port '8000-8010:80': port ranges are not supported"),
    ("host:8080:80", "invalid port 'host:8080:80': 'host' is not an IPv4 address"),
    ("8080:0", "invalid port '8080:0': '0' is not a port number"),
    ("70000:80", "invalid port '70000:80': '70000' is not a port number"),
    ("a:b:c:d", "invalid port 'a:b:c:d': want [IP:][HOSTPORT:]CONTAINERPORT[/PROTO]"),
]


@pytest.mark.parametrize("text,expected", PORTS)
def test_ports_parse(text, expected):
    assert ports.parse(text) == expected


@pytest.mark.parametrize("text,message", BAD_PORTS)
def test_bad_ports_are_one_line(text, message):
    with pytest.raises(NetworkError) as caught:
        ports.parse(text)
    assert str(caught.value) == message


def test_a_wildcard_port_clashes_with_any_address_on_its_port():
    wildcard, local = ports.parse("8080:80"), ports.parse("127.0.0.1:8080:80")
    assert ports.clashes(wildcard, local) and ports.clashes(local, wildcard)
    assert not ports.clashes(local, ports.parse("127.0.0.2:8080:80"))
    assert not ports.clashes(wildcard, ports.parse("8080:80/udp"))


def store_with_routes(tmp_path, *routes: str) -> NetworkStore:
    return NetworkStore(tmp_path, host_routes=lambda: [ipaddress.IPv4Network(r) for r in routes])


def test_subnets_avoid_host_routes_and_each_other(tmp_path):
    store = store_with_routes(tmp_path, "0.0.0.0/0", "172.18.0.0/24", "172.19.5.0/24")
    first, second = store.create("a"), store.create("b")
    assert (first.subnet, second.subnet) == ("172.20.0.0/16", "172.21.0.0/16")  # 172.17 kept for bridge
    assert store.default().subnet == "172.17.0.0/16" and store.default().bridge == "pyreg0"
    assert (first.gateway, first.bridge) == ("172.20.0.1", f"pyreg-{first.id[:9]}")
    assert store.find(first.id[:6]) == first and store.find("b") == second


def test_the_default_network_moves_off_a_host_route_that_clashes(tmp_path):
    store = store_with_routes(tmp_path, "172.17.0.0/16")
    assert store.default().subnet == "172.18.0.0/16"


def test_the_default_subnet_setting_is_applied_or_refused_never_ignored(tmp_path):
    store = store_with_routes(tmp_path)
    assert store.default("10.200.0.0/16").subnet == "10.200.0.0/16"
    assert store.default().subnet == "10.200.0.0/16"  # no setting: as it is
    assert store.default("10.201.0.0/24").gateway == "10.201.0.1"  # unused: moved
    ipam.allocate(str(tmp_path), store.default(), Lease("", "", "c" * 64))
    with pytest.raises(NetworkError) as caught:
        store.default("10.202.0.0/24")
    assert str(caught.value) == ("the default network has active containers on 10.201.0.0/24: "
                                 "stop them to move it to 10.202.0.0/24")


NETWORK_REFUSALS = [
    ({"name": "-bad"}, "invalid network name '-bad': use [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
    ({"name": "n", "subnet": "10.0.0.1/24"}, "invalid subnet '10.0.0.1/24': 10.0.0.1/24 has host bits set"),
    ({"name": "n", "subnet": "10.0.0.0/31"}, "invalid subnet 10.0.0.0/31: the prefix must be /8 to /30"),
    ({"name": "n", "subnet": "10.5.0.0/16"}, "subnet 10.5.0.0/16 overlaps network taken (10.5.1.0/24)"),
    ({"name": "n", "subnet": "10.6.0.0/24", "gateway": "10.7.0.1"},
     "gateway 10.7.0.1 is not a host address of subnet 10.6.0.0/24"),
    ({"name": "n", "bridge": "much-too-long-name"},
     "invalid bridge name 'much-too-long-name': at most 15 of [a-zA-Z0-9_.-]"),
    ({"name": "taken"}, "network with name taken already exists"),
    ({"name": "n", "mtu": 20}, "invalid MTU 20: want 68 to 65535"),
]


@pytest.mark.parametrize("options,message", NETWORK_REFUSALS)
def test_network_create_refusals(tmp_path, options, message):
    store = store_with_routes(tmp_path)
    store.create("taken", subnet="10.5.1.0/24")
    with pytest.raises(NetworkError) as caught:
        store.create(**options)
    assert str(caught.value) == message
    assert [n.name for n in store.list()] == ["taken"]


def test_leases_take_the_lowest_free_address_and_never_a_held_one(tmp_path):
    network = store_with_routes(tmp_path).create("n", subnet="10.8.0.0/29")
    draft = Lease("", "", "c" * 64)
    held = [ipam.allocate(str(tmp_path), network, draft.replace(container_id=str(i) * 64)) for i in range(3)]
    assert [lease.address for lease in held] == ["10.8.0.2", "10.8.0.3", "10.8.0.4"]
    ipam.release(str(tmp_path), held[0])
    again = ipam.allocate(str(tmp_path), network, draft)
    assert again.address == "10.8.0.2"
    assert ipam.allocate(str(tmp_path), network, draft, requested="10.8.0.6").address == "10.8.0.6"
    with pytest.raises(NetworkError, match="^address 10.8.0.6 is already in use on network n$"):
        ipam.allocate(str(tmp_path), network, draft, requested="10.8.0.6")
    assert sorted(l.address for l in ipam.leases(str(tmp_path), network)) == [
        "10.8.0.2", "10.8.0.3", "10.8.0.4", "10.8.0.6"]
    assert not [name for name in os.listdir(tmp_path / "networks" / "n" / "leases") if ".tmp" in name]


def network(name="front", bridge="pyreg-aaaa", subnet="172.18.0.0/16", internal=False) -> Network:
    return Network(name, "f" * 64, subnet, str(ipaddress.IPv4Network(subnet).network_address + 1),
                   bridge, internal=internal)


class _Any:
    def __eq__(self, other):
        return True


ANY = _Any()


def rules_of(commands, chain):
    return [c["add"]["rule"] for c in commands if "rule" in c.get("add", {}) and
            c["add"]["rule"]["chain"] == chain]


def test_the_table_masquerades_and_isolates_each_network():
    front, vault = network(), network("vault", "pyreg-bbbb", "10.9.0.0/24", internal=True)
    commands = nftrules.build_table([front, vault])
    assert commands[0] == {"add": {"table": {"family": "ip", "name": "pyreg"}}}
    assert {"flush": {"chain": {"family": "ip", "table": "pyreg", "name": "postrouting"}}} in commands
    assert not any("flush" in c and c["flush"]["chain"]["name"] == "ports" for c in commands)
    forward = rules_of(commands, "forward")
    isolation = [r for r in forward if {"set": ["pyreg-bbbb"]} in [e.get("match", {}).get("right") for e in r["expr"]]]
    assert len(isolation) == 1 and isolation[0]["comment"] == "pyreg-net:front"
    leaving = {"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": ANY}}
    masquerades = [r["comment"] for r in rules_of(commands, "postrouting")
                   if any(e == leaving for e in r["expr"])]
    assert masquerades == ["pyreg-net:front"]  # the internal network gets no way out
    assert len([r for r in forward if r["comment"] == "pyreg-net:vault"]) == 3


def test_a_port_rule_is_tagged_with_its_container():
    command = nftrules.port_rule(ports.parse("127.0.0.1:8080:80/udp"), "172.18.0.2", "c" * 64)
    rule = command["add"]["rule"]
    assert rule["chain"] == "ports" and rule["comment"] == "pyreg:" + "c" * 64
    assert rule["expr"][-1] == {"dnat": {"addr": "172.18.0.2", "port": 80}}
    assert {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 8080}} \
        in rule["expr"]


def test_hosts_list_peers_by_name_alias_and_short_id():
    own = Lease("front", "172.18.0.3", "a" * 64, name="client", hostname="h1", extra_hosts=(("db", "10.0.0.9"),))
    peer = Lease("front", "172.18.0.2", "b" * 64, name="web", aliases=("www",))
    text = hostsfile.hosts_text(own, [own, peer])
    assert text.startswith(hostsfile.BASE_HOSTS)
    assert text.splitlines()[-3:] == ["10.0.0.9\tdb", f"172.18.0.3\th1 client {'a' * 12}",
                                      f"172.18.0.2\tweb www {'b' * 12}"]


def test_hosts_are_rewritten_in_place_through_a_bind_mount_s_inode(tmp_path):
    path = tmp_path / "hosts"
    path.write_text("a much longer old text than the new one\n" * 3)
    inode = path.stat().st_ino
    hostsfile.rewrite_in_place(str(path), "new\n")
    assert path.read_text() == "new\n" and path.stat().st_ino == inode
    os.symlink("/etc/passwd", tmp_path / "link")
    with pytest.raises(OSError):
        hostsfile.rewrite_in_place(str(tmp_path / "link"), "x\n")  # never through a symlink
    hostsfile.rewrite_in_place(str(tmp_path / "gone"), "x\n")
    assert not (tmp_path / "gone").exists()


RESOLV = [
    ("nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.org\noptions ndots:2\n", {},
     "nameserver 10.0.0.2\nsearch example.org\noptions ndots:2\n"),
    ("nameserver 127.0.0.1\nnameserver ::1\n", {}, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"),
    ("nameserver 10.0.0.2\nsearch a b\n", {"dns": ["10.1.1.1"], "search": ["c"], "options": ["rotate"]},
     "nameserver 10.1.1.1\nsearch c\noptions rotate\n"),
    ("# comment\ndomain corp\nnameserver fe80::1%eth0\n", {}, "nameserver fe80::1%eth0\nsearch corp\n"),
]


@pytest.mark.parametrize("host,options,expected", RESOLV)
def test_resolv_conf_drops_loopback_servers(host, options, expected):
    assert hostsfile.resolv_text(host, **options) == expected


def test_rootless_without_a_helper_says_what_to_install():
    with pytest.raises(NetworkError) as caught:
        rootless.find_helper(which=lambda name: None)
    assert str(caught.value) == ("rootless networking needs pasta or slirp4netns: install one "
                                 "(apt-get install passt, or apt-get install slirp4netns)")
    assert rootless.find_helper(which=lambda n: f"/bin/{n}" if n == "slirp4netns" else None).name == "slirp4netns"


def test_the_helpers_command_lines_forward_the_ports():
    bindings = [ports.parse("127.0.0.1:8080:80"), ports.parse("9000:90"), ports.parse("53:53/udp")]
    pasta = rootless.pasta_args("/usr/bin/pasta", 4242, bindings, "/run/p.pid")
    assert pasta[-1] == "4242" and pasta[pasta.index("-t") + 1] == "127.0.0.1/8080:80,9000:90"
    assert pasta[pasta.index("-u") + 1] == "53:53" and "--config-net" in pasta
    by_path = rootless.pasta_args("/usr/bin/pasta", "/run/ns", [], "/run/p.pid")
    assert by_path[-2:] == ["--netns", "/run/ns"] and by_path[by_path.index("-t") + 1] == "none"
    slirp = rootless.slirp_args("/usr/bin/slirp4netns", "/run/ns", "/run/api.sock", 5, 6)
    assert slirp[-3:] == ["--netns-type=path", "/run/ns", "tap0"] and "--ready-fd=5" in slirp
