"""The listening socket, bound before aiohttp is imported (server.py's
start-up rule), and the failure that says why it could not be."""
from __future__ import annotations

import socket

from .config import HttpSettings

BACKLOG = 1024


class ServeError(Exception):
    """The registry cannot start: the address is taken, the storage cannot be opened."""


def bind_socket(http: HttpSettings, listen: bool = True) -> socket.socket:
    host, port = http.host_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(BACKLOG)
    except OSError as err:
        sock.close()
        raise ServeError(f"cannot serve on {http.addr}: {err.strerror or err}") from None
    return sock
