"""Published ports: `-p [IP:][HOSTPORT:]CTRPORT[/tcp|/udp]` parsed once, and
the host side reserved by binding a socket to it. A DNAT rule does not
hold a port, so the bound socket is what keeps another program (or another
container) from taking it while the container runs; it also chooses the
port when none is given. Whoever supervises the container keeps the
sockets open for its life."""
from __future__ import annotations

import errno
import ipaddress
import socket

from .errors import NetworkError
from .records import PortBinding

PROTOCOLS = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}


def parse(text: str) -> PortBinding:
    """docker's -p syntax, without port ranges; host port 0: choose one."""
    spec, _, proto = text.partition("/")
    proto = proto or "tcp"
    if proto not in PROTOCOLS:
        raise NetworkError(f"invalid port {text!r}: the protocol must be tcp or udp")
    host_ip, host_port, container_port = _split(text, spec)
    if host_ip:
        try:
            host_ip = str(ipaddress.IPv4Address(host_ip))
        except ValueError:
            raise NetworkError(f"invalid port {text!r}: {host_ip!r} is not an IPv4 address") from None
    return PortBinding(host_ip="" if host_ip == "0.0.0.0" else host_ip,
                       host_port=_number(text, host_port, allow_zero=True) if host_port else 0,
                       container_port=_number(text, container_port), proto=proto)


def _split(text: str, spec: str) -> tuple[str, str, str]:
    parts = spec.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise NetworkError(f"invalid port {text!r}: want [IP:][HOSTPORT:]CONTAINERPORT[/PROTO]")


def _number(text: str, value: str, allow_zero: bool = False) -> int:
    if "-" in value:
        raise NetworkError(f"invalid port {text!r}: port ranges are not supported")
    if not value.isdigit() or not (0 if allow_zero else 1) <= int(value) <= 65535:
        raise NetworkError(f"invalid port {text!r}: {value!r} is not a port number")
    return int(value)


def clashes(a: PortBinding, b: PortBinding) -> bool:
    return (a.proto == b.proto and a.host_port == b.host_port
            and (not a.host_ip or not b.host_ip or a.host_ip == b.host_ip))


def reserve(binding: PortBinding, published: list[PortBinding]) -> tuple[PortBinding, socket.socket]:
    """Bind the host side (checking it is free), against the host's sockets
    and the ports already published; returns the binding with its port."""
    if binding.host_port:
        for other in published:
            if clashes(binding, other):
                raise NetworkError(f"host port {binding.describe()} is already published by a container")
        return binding, _bind(binding)
    refused = []  # held open while choosing, so the kernel offers another port
    try:
        for _ in range(16):
            sock = _bind(binding)
            chosen = binding.replace(host_port=sock.getsockname()[1])
            if not any(clashes(chosen, other) for other in published):
                return chosen, sock
            refused.append(sock)  # a container publishes it but holds no socket for it
    finally:
        for sock in refused:
            sock.close()
    raise NetworkError(f"no free host port found for {binding.describe()}")


def _bind(binding: PortBinding) -> socket.socket:
    sock = socket.socket(socket.AF_INET, PROTOCOLS[binding.proto])
    try:
        sock.bind((binding.host_ip or "0.0.0.0", binding.host_port))
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise NetworkError(f"host port {binding.describe()} is already in use") from None
        if err.errno == errno.EADDRNOTAVAIL:
            raise NetworkError(f"host address {binding.host_ip} is not an address of this host") from None
        raise NetworkError(f"cannot bind host port {binding.describe()}: {err.strerror}") from None
    return sock
