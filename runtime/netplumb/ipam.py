"""Addresses for containers: a lease file per address in the network's
directory, made with link(2) so two `pyreg run`s can never hold the same
one, even outside the lock. The lowest free host address is handed out, so
an address comes back into use once its lease is released, never before."""
from __future__ import annotations

import contextlib
import ipaddress
import os

from .. import paths
from .errors import NetworkError
from .records import Lease, Network, read_json, write_json


def leases(root: str, network: Network) -> list[Lease]:
    directory = paths.leases(root, network.name)
    found = []
    for entry in sorted(os.listdir(directory)) if os.path.isdir(directory) else ():
        if entry.endswith(".json"):
            with contextlib.suppress(FileNotFoundError, ValueError, TypeError):
                found.append(Lease.from_json(read_json(os.path.join(directory, entry))))
    return found


def _taken(root: str, network: Network) -> set[str]:
    directory = paths.leases(root, network.name)
    names = os.listdir(directory) if os.path.isdir(directory) else []
    return {name[:-5] for name in names if name.endswith(".json")} | {network.gateway}


def _candidates(network: Network, requested: str | None):
    if requested is None:
        yield from network.ip_network.hosts()
        return
    try:
        address = ipaddress.IPv4Address(requested)
    except ValueError:
        raise NetworkError(f"invalid IP address {requested!r}") from None
    subnet = network.ip_network
    if address not in subnet or address in (subnet.network_address, subnet.broadcast_address):
        raise NetworkError(f"address {address} is not in network {network.name}'s subnet {subnet}")
    yield address


def allocate(root: str, network: Network, lease: Lease, requested: str | None = None) -> Lease:
    """Store lease (its address left empty) under a free address of the
    network (or `requested`) and return it with that address."""
    os.makedirs(paths.leases(root, network.name), exist_ok=True)
    taken = _taken(root, network)
    for address in _candidates(network, requested):
        text = str(address)
        if text in taken:
            continue
        held = lease.replace(network=network.name, address=text)
        try:
            write_json(paths.lease(root, network.name, text), held.to_json(), exclusive=True)
        except FileExistsError:  # taken since we listed: try the next one
            continue
        return held
    if requested is not None:
        raise NetworkError(f"address {requested} is already in use on network {network.name}")
    raise NetworkError(f"no free address left on network {network.name} ({network.subnet})")


def update(root: str, lease: Lease) -> None:
    write_json(paths.lease(root, lease.network, lease.address), lease.to_json())


def release(root: str, lease: Lease) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(paths.lease(root, lease.network, lease.address))
