"""Networking for `--network none`: a fresh network namespace has only a
loopback device, and it starts down. One ioctl brings it up (no `ip` binary,
no subprocess on the start path)."""
from __future__ import annotations

import fcntl
import struct

import _socket  # the C module: socket.py would import enum, selectors...

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def bring_up(interface: str = "lo") -> None:
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        request = struct.pack("16sH14x", interface.encode(), 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", interface.encode(),
                                                             flags | IFF_UP))
    finally:
        sock.close()
