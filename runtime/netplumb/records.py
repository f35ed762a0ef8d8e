"""What is kept on disk about networks: a Network per network, a Lease per
container attached to one (its address, interface, rules and names), and the
published ports a lease carries. Values are parsed once, when they are made;
the files hold plain JSON."""
from __future__ import annotations

import ipaddress
import json
import os

from ..record import REQUIRED, Record

DEFAULT_NETWORK = "bridge"  # docker's name for the network a container gets unasked


class Network(Record):
    FIELDS = {
        "name": REQUIRED, "id": REQUIRED, "subnet": REQUIRED, "gateway": REQUIRED,
        "bridge": REQUIRED, "driver": "bridge", "internal": False, "mtu": 1500, "created": 0.0,
    }

    @property
    def ip_network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    @property
    def prefix_len(self) -> int:
        return self.ip_network.prefixlen

    @property
    def resolves_names(self) -> bool:
        """As docker: containers find each other by name on user-defined
        networks; the default network gives them only their own name."""
        return self.name != DEFAULT_NETWORK


class PortBinding(Record):
    """One published port: host_ip "" means every address of the host;
    handle is the nft rule's, once the rule exists."""
    FIELDS = {"host_ip": "", "host_port": REQUIRED, "container_port": REQUIRED,
              "proto": "tcp", "handle": 0}

    def describe(self) -> str:
        return f"{self.host_ip or '0.0.0.0'}:{self.host_port}/{self.proto}"


class Lease(Record):
    """A container's place on a network. holder_pid/holder_start name the
    process whose life bounds the lease (the supervisor): once it is gone,
    a sweep may undo everything the lease records. The ports carry their
    rules' handles, valid under the table whose handle is table_handle (for
    inspect; removal finds the rules by their container tag, so a rule added
    just before a crash goes too)."""
    FIELDS = {
        "network": REQUIRED, "address": REQUIRED, "container_id": REQUIRED,
        "holder_pid": 0, "holder_start": 0, "veth": "", "netns": "",
        "name": "", "hostname": "", "aliases": (), "extra_hosts": (), "hosts_file": "",
        "ports": (), "table_handle": 0,
    }

    def to_json(self) -> dict:
        data = dict(self.__dict__)
        data["aliases"] = list(self.aliases)
        data["extra_hosts"] = [list(pair) for pair in self.extra_hosts]
        data["ports"] = [port.to_json() for port in self.ports]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Lease":
        known = {k: v for k, v in data.items() if k in cls.FIELDS}
        known["aliases"] = tuple(known.get("aliases") or ())
        known["extra_hosts"] = tuple(tuple(pair) for pair in known.get("extra_hosts") or ())
        known["ports"] = tuple(PortBinding(**p) for p in known.get("ports") or ())
        return cls(**known)

    @property
    def names(self) -> tuple[str, ...]:
        """What peers call this container: its name, aliases, short id."""
        return tuple(n for n in dict.fromkeys([self.name, *self.aliases, self.container_id[:12]]) if n)


def read_json(path: str) -> dict:
    with open(path, "rb") as handle:
        return json.loads(handle.read())


def write_json(path: str, data: dict, exclusive: bool = False) -> None:
    """Readers see the old file or the new one, never part of one. With
    exclusive, the file must not exist yet (FileExistsError): link(2) of a
    finished temporary file makes it appear complete or not at all."""
    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "w") as handle:
        handle.write(json.dumps(data, sort_keys=True))
    if not exclusive:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)
    finally:
        os.unlink(temp)
