"""Networking for `--network none`: a fresh network namespace has only a
loopback device, and it starts down. One ioctl brings it up (no `ip` binary,
no subprocess on the start path), made through libc like the other system
calls, so the start path loads neither _socket, fcntl nor struct."""
from __future__ import annotations

import os

from ..kernel import linux

AF_INET = 2
SOCK_DGRAM = 2
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ_SIZE = 40  # struct ifreq: a 16-byte name, then a union (flags: a short)


def bring_up(interface: str = "lo") -> None:
    request = bytearray(_IFREQ_SIZE)
    name = interface.encode()
    request[:len(name)] = name
    sock = linux.socket(AF_INET, SOCK_DGRAM)
    try:
        linux.ioctl(sock, SIOCGIFFLAGS, request)
        flags = int.from_bytes(request[16:18], "little") | IFF_UP
        request[16:18] = flags.to_bytes(2, "little")
        linux.ioctl(sock, SIOCSIFFLAGS, request)
    finally:
        os.close(sock)
