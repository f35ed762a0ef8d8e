"""Networks in the data root: create, find, list and remove them, each a
record with its own bridge and a subnet that clashes with no other network
and no route of the host. One flock (paths.networks_lock) orders every change,
here and in the leases."""
from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import time

from .. import paths
from ..paths import NAME_PATTERN
from .errors import NetworkError
from .ipam import leases
from .records import DEFAULT_NETWORK, Network, read_json, write_json

DEFAULT_SUBNET = "172.17.0.0/16"  # docker's docker0
DEFAULT_BRIDGE = "pyreg0"
IFNAMSIZ = 15  # the kernel's limit on an interface name, without its NUL
_held: dict[str, list] = {}  # lock path -> [fd, depth]: flock twice in one process would deadlock


def subnet_pool():
    """docker's default address pools: 172.17-31.0.0/16, then
    192.168.0.0/16 cut into /20s."""
    for second in range(17, 32):
        yield ipaddress.IPv4Network(f"172.{second}.0.0/16")
    yield from ipaddress.IPv4Network("192.168.0.0/16").subnets(new_prefix=20)


@contextlib.contextmanager
def locked(root: str):
    """The networks lock, re-entrant within a process."""
    path = paths.networks_lock(root)
    entry = _held.get(path)
    if entry is None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        entry = _held[path] = [fd, 0]
    entry[1] += 1
    try:
        yield
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            del _held[path]
            os.close(entry[0])  # releases the flock


def _host_routes() -> list[ipaddress.IPv4Network]:
    from .links import host_routes  # netlink only when a subnet must be chosen
    return host_routes()


class NetworkStore:
    def __init__(self, root: str | os.PathLike, host_routes=_host_routes):
        self.root = os.fspath(root)
        self._host_routes = host_routes

    def list(self) -> list[Network]:
        directory = paths.networks(self.root)
        found = []
        for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else ():
            try:
                found.append(self.get(name))
            except NetworkError:
                continue
        return found

    def get(self, name: str) -> Network:
        try:
            return Network(**read_json(paths.network_record(self.root, name)))
        except (FileNotFoundError, NotADirectoryError, ValueError, TypeError):
            raise NetworkError(f"network {name} not found") from None

    def find(self, key: str) -> Network:
        """By name, full id or unique id prefix, as docker does; the
        default network is there even before its first use."""
        if key == DEFAULT_NETWORK:
            return self.default()
        networks = self.list()
        exact = [n for n in networks if key in (n.name, n.id)]
        matches = exact or [n for n in networks if key and n.id.startswith(key)]
        if len(matches) > 1:
            raise NetworkError(f"network {key} is ambiguous: use more of the id")
        if not matches:
            raise NetworkError(f"network {key} not found")
        return matches[0]

    def create(self, name: str, subnet: str | None = None, gateway: str | None = None,
               internal: bool = False, mtu: int = 1500, bridge: str | None = None) -> Network:
        if not re.fullmatch(NAME_PATTERN, name):
            raise NetworkError(f"invalid network name {name!r}: use [a-zA-Z0-9][a-zA-Z0-9_.-]*")
        network_id = os.urandom(32).hex()
        bridge = bridge or (DEFAULT_BRIDGE if name == DEFAULT_NETWORK else f"pyreg-{network_id[:9]}")
        if len(bridge) > IFNAMSIZ or not re.fullmatch(r"[a-zA-Z0-9_.-]+", bridge):
            raise NetworkError(f"invalid bridge name {bridge!r}: at most {IFNAMSIZ} of [a-zA-Z0-9_.-]")
        if not 68 <= mtu <= 65535:
            raise NetworkError(f"invalid MTU {mtu}: want 68 to 65535")
        with locked(self.root):
            others = self.list()
            if any(n.name == name for n in others):
                raise NetworkError(f"network with name {name} already exists")
            if any(n.bridge == bridge for n in others):
                raise NetworkError(f"bridge {bridge} is already used by another network")
            chosen = self._subnet(subnet, others, for_default=name == DEFAULT_NETWORK)
            network = Network(name, network_id, str(chosen), _gateway(chosen, gateway), bridge,
                              internal=internal, mtu=mtu, created=time.time())
            os.makedirs(paths.leases(self.root, name), exist_ok=True)
            write_json(paths.network_record(self.root, name), network.to_json())
        return network

    def default(self, subnet: str | None = None) -> Network:
        """The network a container gets unasked, made on first use; with
        subnet (the operator's setting), moved to it while no container
        uses it, and refused, never ignored, while one does."""
        with locked(self.root):
            try:
                existing = self.get(DEFAULT_NETWORK)
            except NetworkError:
                return self.create(DEFAULT_NETWORK, subnet=subnet)
            if subnet is None or existing.ip_network == _parse_subnet(subnet):
                return existing
            if leases(self.root, existing):
                raise NetworkError(f"the default network has active containers on {existing.subnet}: "
                                   f"stop them to move it to {subnet}")
            self._remove_files(existing)
            return self.create(DEFAULT_NETWORK, subnet=subnet)

    def remove(self, network: Network) -> None:
        """Refused while a lease is held: sweep stale ones first."""
        if network.name == DEFAULT_NETWORK:
            raise NetworkError(f"{DEFAULT_NETWORK} is a pre-defined network and cannot be removed")
        with locked(self.root):
            if leases(self.root, network):
                raise NetworkError(f"error while removing network: network {network.name} "  # docker's words
                                   f"id {network.id} has active endpoints")
            self._remove_files(network)

    def _remove_files(self, network: Network) -> None:
        directory = paths.network(self.root, network.name)
        os.unlink(paths.network_record(self.root, network.name))
        for leftover in (paths.leases(self.root, network.name), directory):
            with contextlib.suppress(FileNotFoundError):
                os.rmdir(leftover)

    def _subnet(self, requested: str | None, others: list[Network],
                for_default: bool) -> ipaddress.IPv4Network:
        if requested is not None:
            subnet = _parse_subnet(requested)
            for other in others:
                if other.ip_network.overlaps(subnet):
                    raise NetworkError(f"subnet {subnet} overlaps network {other.name} ({other.subnet})")
            return subnet
        used = [n.ip_network for n in others]
        if not for_default and all(n.name != DEFAULT_NETWORK for n in others):
            used.append(ipaddress.IPv4Network(DEFAULT_SUBNET))  # kept for the default network
        used += [r for r in self._host_routes() if r.prefixlen > 0]  # the default route clashes with nothing
        for candidate in subnet_pool():
            if not any(candidate.overlaps(u) for u in used):
                return candidate
        raise NetworkError("no free subnet left in the address pools: give one with --subnet")


def _parse_subnet(text: str) -> ipaddress.IPv4Network:
    try:
        subnet = ipaddress.IPv4Network(text)
    except ValueError as err:
        raise NetworkError(f"invalid subnet {text!r}: {err}") from None
    if not 8 <= subnet.prefixlen <= 30:
        raise NetworkError(f"invalid subnet {text}: the prefix must be /8 to /30")
    return subnet


def _gateway(subnet: ipaddress.IPv4Network, requested: str | None) -> str:
    if requested is None:
        return str(subnet.network_address + 1)
    try:
        gateway = ipaddress.IPv4Address(requested)
    except ValueError:
        raise NetworkError(f"invalid gateway {requested!r}") from None
    if gateway not in subnet or gateway in (subnet.network_address, subnet.broadcast_address):
        raise NetworkError(f"gateway {gateway} is not a host address of subnet {subnet}")
    return str(gateway)
