"""The interfaces of a bridge network, through netlink (pyroute2): the
network's bridge on the host, and per container a veth pair whose inner end
is made directly inside the container's namespace as eth0, addressed, up,
with a default route through the bridge. Removal is idempotent: what is
already gone counts as removed."""
from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import socket

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from . import netns
from .errors import NetworkError
from .records import Lease, Network

CONTAINER_IFNAME = "eth0"
NETLINK_ROUTE = 0
MAIN_TABLE = 254


def _iproute(netns_fd: int | None = None) -> IPRoute:
    """A netlink socket of the host, or of the namespace netns_fd (made
    from inside it: a socket keeps the namespace it was born in)."""
    if netns_fd is None:
        return IPRoute()
    with netns.entered(netns_fd):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)
    return IPRoute(fileno=sock.detach())


@contextlib.contextmanager
def _netlink(what: str):
    """A netlink failure as one line naming what was being done."""
    try:
        yield
    except NetlinkError as err:
        raise NetworkError(f"{what}: {os.strerror(err.code)}") from None


def _index(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def write_sysctl(name: str, value: str) -> None:
    """A sysctl of the calling thread's network namespace (the files under
    /proc/sys/net belong to the namespace of whoever opens them); name as a
    path, since an interface name may hold a dot."""
    path = "/proc/sys/" + name
    with open(path) as handle:
        if handle.read().strip() == value:
            return
    with open(path, "w") as handle:
        handle.write(value + "\n")


def ensure_bridge(network: Network) -> None:
    """The network's bridge, up, with the gateway address; routing on, and
    route_localnet on the bridge so DNAT'd loopback traffic may leave by it."""
    with _iproute() as ipr, _netlink(f"cannot set up bridge {network.bridge}"):
        index = _index(ipr, network.bridge)
        if index is None:
            ipr.link("add", ifname=network.bridge, kind="bridge", mtu=network.mtu)
            index = _index(ipr, network.bridge)
        elif _kind(ipr, index) != "bridge":
            raise NetworkError(f"interface {network.bridge} exists and is not a bridge")
        have = {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=index, family=socket.AF_INET)}
        if network.gateway not in have:
            ipr.addr("add", index=index, address=network.gateway, prefixlen=network.prefix_len)
        ipr.link("set", index=index, state="up")
    write_sysctl(f"net/ipv4/conf/{network.bridge}/route_localnet", "1")
    write_sysctl("net/ipv4/ip_forward", "1")


def _kind(ipr: IPRoute, index: int) -> str | None:
    link = ipr.get_links(index)[0]
    info = link.get_attr("IFLA_LINKINFO")
    return info.get_attr("IFLA_INFO_KIND") if info else None


def plug(network: Network, lease: Lease, netns_fd: int) -> None:
    """The container's veth pair: host end on the bridge, inner end eth0
    in the namespace with the lease's address and a default route."""
    with _iproute() as ipr, _netlink(f"cannot create interface {lease.veth}"):
        bridge = _index(ipr, network.bridge)
        if bridge is None:
            raise NetworkError(f"bridge {network.bridge} of network {network.name} is missing")
        ipr.link("add", ifname=lease.veth, kind="veth", mtu=network.mtu,
                 peer={"ifname": CONTAINER_IFNAME, "net_ns_fd": netns_fd, "mtu": network.mtu})
        ipr.link("set", index=_index(ipr, lease.veth), master=bridge, state="up")
    with _iproute(netns_fd) as inner, _netlink(f"cannot configure {CONTAINER_IFNAME} in the container"):
        index = _index(inner, CONTAINER_IFNAME)
        inner.addr("add", index=index, address=lease.address, prefixlen=network.prefix_len)
        inner.link("set", index=index, state="up")
        inner.link("set", index=_index(inner, "lo"), state="up")
        if not network.internal:
            inner.route("add", dst="0.0.0.0/0", gateway=network.gateway)


def remove_link(name: str) -> None:
    """Delete an interface of the host (for a veth, both ends go)."""
    with _iproute() as ipr:
        try:
            ipr.link("del", ifname=name)
        except NetlinkError as err:
            if err.code != errno.ENODEV:
                raise NetworkError(f"cannot delete interface {name}: {os.strerror(err.code)}") from None


def link_names() -> set[str]:
    with _iproute() as ipr:
        return {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}


def host_routes() -> list[ipaddress.IPv4Network]:
    """The destinations of the host's main routing table."""
    with _iproute() as ipr:
        routes = ipr.get_routes(family=socket.AF_INET, table=MAIN_TABLE)
        return [ipaddress.IPv4Network(f"{r.get_attr('RTA_DST') or '0.0.0.0'}/{r['dst_len']}")
                for r in routes]
