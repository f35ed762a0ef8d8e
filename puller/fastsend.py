"""A fast path for requests that send: one plain HTTP/1.1 exchange on its
own blocking socket in a worker thread. A blob's body goes from the page
cache to the socket with sendfile, so no byte passes through Python, and
the event loop stays free while the kernel does the copying.

Only the answer's status line and headers are read: callers use this where
success is a bare status (201, 202, 200/404 for HEAD). Any failure returns
None, and the caller takes the general aiohttp path, which knows about auth,
redirects, retries and error bodies.
"""
from __future__ import annotations

import asyncio
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .fastget import Answer, FastGetError, connect, in_io_thread, read_head, request_head

SEND_PIECE = 16 * 1024 * 1024  # progress is reported after each piece


@dataclass(frozen=True)
class FileBody:
    """`size` bytes of the file at `path`, which must be exactly that long."""
    path: Path
    size: int


def _send_file(sock: socket.socket, body: FileBody, sent: Callable[[int], None]) -> None:
    with open(body.path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size != body.size:
            raise FastGetError(f"{body.path} is not {body.size} bytes long")
        offset = 0
        while offset < body.size:
            count = sock.sendfile(handle, offset, min(SEND_PIECE, body.size - offset))
            if count == 0:
                raise ConnectionError("registry stopped reading")
            offset += count
            sent(count)


def _exchange(method: str, url: str, headers: dict[str, str], ssl_context, data: bytes,
              file: FileBody | None, sent: Callable[[int], None]) -> Answer:
    length = file.size if file is not None else len(data)
    with connect(url, ssl_context) as sock:
        sock.sendall(request_head(method, url, dict(headers, **{"Content-Length": str(length)}))
                     + data)
        if file is not None:
            _send_file(sock, file, sent)
        return read_head(sock)[0]


async def send(method: str, url: str, headers: dict[str, str], ssl_context: ssl.SSLContext | bool,
               data: bytes = b"", file: FileBody | None = None,
               advance: Callable[[int], None] | None = None) -> Answer | None:
    """One exchange; its answer, or None when it failed on the way (progress
    reported for a failed body is taken back, as the caller starts over)."""
    loop = asyncio.get_running_loop()
    total = 0

    def sent(count: int) -> None:
        nonlocal total
        total += count
        if advance is not None:
            loop.call_soon_threadsafe(advance, count)

    try:
        return await in_io_thread(_exchange, method, url, headers, ssl_context, data, file, sent)
    except (OSError, FastGetError):  # ssl.SSLError and socket timeouts are OSErrors
        if advance is not None and total:
            advance(-total)
        return None
