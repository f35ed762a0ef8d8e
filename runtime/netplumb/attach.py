"""Attaching a container to a bridge network and detaching it, as single
steps that either complete or leave nothing behind.

connect: reserve the published ports (bound sockets), take an address
(a lease naming the container and the process that holds it), make the
container's namespace if asked, bring up the bridge and the table, plug a
veth pair into the namespace, add the DNAT rules, write the hosts files.
Any failure undoes what was done, in reverse. disconnect and sweep undo a
lease's work from its record alone, so they work just as well after the
holder died by kill -9; what is already gone counts as undone.
"""
from __future__ import annotations

import contextlib
import hashlib
import os

from ..kernel.linux import process_start_time
from ..record import REQUIRED, Record
from .. import paths
from . import hostsfile, ipam, links, netns, nftables, ports
from .errors import NetworkError
from .records import DEFAULT_NETWORK, Lease, Network
from .store import NetworkStore, locked


class Attachment(Record):
    """What the container's setup needs: its lease (address, interface,
    ports with their handles), the network, the namespace to join (a file
    when pyreg made it) and the sockets that hold the host ports, which the
    supervisor keeps open for the container's life."""
    FIELDS = {"lease": REQUIRED, "network": REQUIRED, "netns": "", "sockets": ()}

    def close_sockets(self) -> None:
        for sock in self.sockets:
            sock.close()


class Member(Record):
    """connect's description of the container: its names, the host file
    bind-mounted on its /etc/hosts, and --add-host entries."""
    FIELDS = {"container_id": REQUIRED, "name": "", "hostname": "", "aliases": (),
              "hosts_file": "", "extra_hosts": ()}


def veth_name(network: Network, container_id: str) -> str:
    """pyv + 11 hex digits: unique per (network, container), IFNAMSIZ-sized."""
    return "pyv" + hashlib.sha256(f"{network.id}/{container_id}".encode()).hexdigest()[:11]


def connect(root: str, network_name: str, member: Member, target: int | str | None = None,
            publish=(), ip: str | None = None, holder_pid: int | None = None) -> Attachment:
    """target: a pid or namespace file of the container, or None to make a
    new namespace (paths.container_netns) that teardown removes."""
    store = NetworkStore(root)
    with locked(root), contextlib.ExitStack() as undo:
        if _sweep_locked(root, holder_alive):  # a dead container's ports and address are free again
            _settle(root)
        network = store.default() if network_name == DEFAULT_NETWORK else store.get(network_name)
        if network.internal and publish:
            raise NetworkError(f"network {network.name} is internal: ports cannot be published")
        undo.callback(_settle, root)  # runs last: after the teardown below
        bindings, sockets = _reserve(root, publish, undo)
        lease = _take_lease(root, network, member, bindings, target, ip, holder_pid)
        undo.callback(_teardown, root, lease)
        if target is None:
            netns.create(lease.netns)
        links.ensure_bridge(network)
        nftables.sync(_networks_in_use(root))
        fd = netns.open_target(lease.netns if target is None else target)
        undo.callback(os.close, fd)
        links.plug(network, lease, fd)
        bound, table = nftables.add_ports(list(bindings), lease.address, member.container_id)
        lease = lease.replace(ports=tuple(bound), table_handle=table)
        ipam.update(root, lease)
        _write_hosts(root, network, fresh=lease)
        undo.pop_all()
        os.close(fd)
        return Attachment(lease, network, lease.netns, tuple(sockets))


def _reserve(root: str, publish, undo: contextlib.ExitStack):
    published = [p for lease in all_leases(root) for p in lease.ports]
    bindings, sockets = [], []
    for binding in publish:
        chosen, sock = ports.reserve(binding, published + bindings)
        undo.callback(sock.close)
        bindings.append(chosen)
        sockets.append(sock)
    return tuple(bindings), sockets


def _take_lease(root, network, member, bindings, target, ip, holder_pid) -> Lease:
    holder = holder_pid or os.getpid()
    draft = Lease(network.name, "", member.container_id, holder_pid=holder,
                  holder_start=process_start_time(holder) or 0,
                  veth=veth_name(network, member.container_id),
                  netns=paths.container_netns(root, member.container_id) if target is None else "",
                  name=member.name, hostname=member.hostname, aliases=tuple(member.aliases),
                  extra_hosts=tuple(member.extra_hosts), hosts_file=member.hosts_file, ports=bindings)
    return ipam.allocate(root, network, draft, ip)


def disconnect(root: str, container_id: str) -> None:
    """Undo every lease of the container; nothing to do when there is none."""
    with locked(root):
        for lease in all_leases(root):
            if lease.container_id == container_id:
                _teardown(root, lease)
        nftables.remove_ports(container_id)  # rules of a crash between rule and record
        _settle(root)


def sweep(root: str, alive=None) -> list[str]:
    """Undo the leases whose container is gone (by default: whose holder
    process is gone); returns their container ids."""
    with locked(root):
        gone = _sweep_locked(root, alive or holder_alive)
        _settle(root)
    return gone


def _sweep_locked(root: str, alive) -> list[str]:
    gone = [lease for lease in all_leases(root) if not alive(lease)]
    for lease in gone:
        _teardown(root, lease)
    _remove_stray_namespaces(root)
    return [lease.container_id for lease in gone]


def holder_alive(lease: Lease) -> bool:
    return lease.holder_pid > 0 and process_start_time(lease.holder_pid) == lease.holder_start


def hand_over(root: str, container_id: str, pid: int) -> None:
    """Make pid (the supervisor) the holder of the container's leases."""
    with locked(root):
        for lease in all_leases(root):
            if lease.container_id == container_id:
                ipam.update(root, lease.replace(holder_pid=pid, holder_start=process_start_time(pid) or 0))


def remove_network(root: str, key: str) -> Network:
    """`network rm`: refused while a live container uses it."""
    with locked(root):
        store = NetworkStore(root)
        network = store.find(key)
        sweep(root)
        store.remove(network)
        return network


def all_leases(root: str) -> list[Lease]:
    return [lease for network in NetworkStore(root).list() for lease in ipam.leases(root, network)]


def _networks_in_use(root: str) -> list[Network]:
    return [n for n in NetworkStore(root).list() if ipam.leases(root, n)]


def _teardown(root: str, lease: Lease) -> None:
    nftables.remove_ports(lease.container_id)
    links.remove_link(lease.veth)
    if lease.netns:
        netns.remove(lease.netns)
    ipam.release(root, lease)


def _settle(root: str) -> None:
    """After leases went: peers' hosts files, bridges of networks left
    without containers, the table (gone with the last container)."""
    in_use, existing = [], links.link_names()
    for network in NetworkStore(root).list():
        if ipam.leases(root, network):
            in_use.append(network)
            _write_hosts(root, network)
        elif network.bridge in existing:
            links.remove_link(network.bridge)
    nftables.sync(in_use)


def _remove_stray_namespaces(root: str) -> None:
    directory = paths.netns(root)
    held = {lease.netns for lease in all_leases(root)}
    for name in os.listdir(directory) if os.path.isdir(directory) else ():
        path = os.path.join(directory, name)
        if path not in held:
            netns.remove(path)


def _write_hosts(root: str, network: Network, fresh: Lease | None = None) -> None:
    members = ipam.leases(root, network)
    for lease in members:
        if lease.hosts_file:
            peers = members if network.resolves_names else []
            text = hostsfile.hosts_text(lease, peers)
            create = fresh is not None and lease.container_id == fresh.container_id
            hostsfile.rewrite_in_place(lease.hosts_file, text, create=create)
