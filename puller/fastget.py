"""A fast path for GETs: one plain HTTP/1.1 request on its own blocking
socket, its body read by worker threads straight into large buffers.

aiohttp's stream reader copies every socket read into small bytes objects
and passes each through the event loop. Here a blob download runs in one
worker thread from socket to file (`SocketBody.pump_into`: recv_into a
reused buffer, hash, write; each releases the GIL), so parallel downloads
use every core and the event loop only hears about progress.

Only the plain case is handled: a 200/206 answer with a Content-Length.
Anything else (401, a redirect, 429/5xx, chunked encoding) returns None and
the caller takes the general aiohttp path, which knows about auth,
redirects and retries.
"""
from __future__ import annotations

import asyncio
import os
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import AsyncIterator, Callable
from urllib.parse import urlsplit

from .errors import Interrupted

# PYREG_NO_FAST_GET=1 sends every request through aiohttp (for comparison and tests).
ENABLED = not os.environ.get("PYREG_NO_FAST_GET")
BLOCK = 1024 * 1024
MAX_HEADER = 64 * 1024
CONNECT_TIMEOUT = 30
READ_TIMEOUT = 300  # seconds without a byte before a transfer counts as broken

# Blocking socket work runs here rather than in the loop's default executor,
# whose few threads long downloads would otherwise all occupy.
_io_threads: ThreadPoolExecutor | None = None


class FastGetError(Interrupted):
    """The exchange broke off or made no sense; for a body, what arrived is a
    valid prefix to resume from."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]


async def in_io_thread(function: Callable, *args):
    global _io_threads
    if _io_threads is None:
        _io_threads = ThreadPoolExecutor(max_workers=64, thread_name_prefix="pyreg-io")
    return await asyncio.get_running_loop().run_in_executor(_io_threads, function, *args)


def connect(url: str, ssl_context: ssl.SSLContext | bool) -> socket.socket:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    sock = socket.create_connection((parts.hostname, parts.port or (443 if secure else 80)),
                                    timeout=CONNECT_TIMEOUT)
    sock.settimeout(READ_TIMEOUT)
    if secure:
        sock = client_context(ssl_context).wrap_socket(sock, server_hostname=parts.hostname)
    return sock


def request_head(method: str, url: str, headers: dict[str, str]) -> bytes:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
             "User-Agent: pyreg", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def read_head(sock: socket.socket) -> tuple[Answer, bytes]:
    """The answer's status and headers, and the body bytes read with them."""
    data = bytearray()
    while (end := data.find(b"\r\n\r\n")) < 0:
        piece = sock.recv(MAX_HEADER)
        if not piece:
            raise FastGetError("connection closed before an answer")
        data += piece
        if len(data) > MAX_HEADER:
            raise FastGetError("response headers too large")
    return parse_head(bytes(data[:end])), bytes(data[end + 4:])


def parse_head(head: bytes) -> Answer:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise FastGetError(f"malformed status line {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(parts[1]), headers)


class SocketBody:
    """A response body still in its socket: `remaining` bytes to come. Read it
    with `pump_into` (blocking, in a worker thread) or iterate `chunks()`."""

    def __init__(self, sock: socket.socket, first: bytes, length: int):
        self._sock, self._first = sock, first[:length]
        self.length = self.remaining = length

    def read_into(self, view: memoryview) -> int:
        """Blocking: fill some of `view`; raises FastGetError if the body breaks off."""
        if self._first:
            count = min(len(view), len(self._first))
            view[:count], self._first = self._first[:count], self._first[count:]
        else:
            try:
                count = self._sock.recv_into(view, min(len(view), self.remaining))
            except socket.timeout:
                raise FastGetError(f"download interrupted: no data for {READ_TIMEOUT}s") from None
            except OSError as err:
                raise FastGetError(f"download interrupted: {err.strerror or err}") from None
            if count == 0:
                raise FastGetError("download interrupted: connection closed by the registry")
        self.remaining -= count
        return count

    def pump_into(self, handle, verifier, sent: Callable[[int], None]) -> None:
        """Blocking: hash and write the rest of the body into `handle`. What
        was written is always exactly what was hashed, a prefix to resume from."""
        buffer = memoryview(bytearray(min(BLOCK, max(self.remaining, 1))))
        while self.remaining:
            count = self.read_into(buffer)
            verifier.update(buffer[:count])
            handle.write(buffer[:count])
            sent(count)

    def _read_block(self) -> bytearray:
        block = bytearray(min(BLOCK, self.remaining))
        view, filled = memoryview(block), 0
        while filled < len(block):
            filled += self.read_into(view[filled:])
        return block

    def __aiter__(self) -> AsyncIterator[bytearray]:
        return self.chunks()

    async def chunks(self) -> AsyncIterator[bytearray]:
        reading = None
        try:
            while self.remaining:
                reading = asyncio.ensure_future(in_io_thread(self._read_block))
                yield await reading
        finally:
            if reading is not None and not reading.done():
                self.abort()  # wake the reader; close once it has let go of the socket
                reading.add_done_callback(lambda _: self.close())
            else:
                self.close()

    def abort(self) -> None:
        """Make a blocked read return at once (from any thread)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        self._sock.close()


def _open(url: str, headers: dict[str, str],
          ssl_context: ssl.SSLContext | bool) -> tuple[Answer, SocketBody] | None:
    sock = connect(url, ssl_context)
    try:
        sock.sendall(request_head("GET", url, headers))
        answer, first = read_head(sock)
    except (OSError, FastGetError):
        sock.close()
        return None
    length = answer.headers.get("content-length", "")
    plain = answer.status in (200, 206) and length.isdigit() \
        and "transfer-encoding" not in answer.headers
    if not plain:
        sock.close()
        return None
    return answer, SocketBody(sock, first, int(length))


async def fast_get(url: str, headers: dict[str, str],
                   ssl_context: ssl.SSLContext | bool) -> tuple[Answer, SocketBody] | None:
    """GET url; the answer and its body, or None when the general path must
    handle this response (or the fast path cannot connect)."""
    try:
        return await in_io_thread(_open, url, headers, ssl_context)
    except OSError:  # includes ssl.SSLError and timeouts
        return None


_default_contexts: dict[bool, ssl.SSLContext] = {}


def client_context(setting: ssl.SSLContext | bool) -> ssl.SSLContext:
    """The context for a transport's TLS setting; the default ones are made
    once, as loading the CA bundle costs tens of milliseconds."""
    if isinstance(setting, ssl.SSLContext):
        return setting
    if setting not in _default_contexts:
        context = ssl.create_default_context()
        if setting is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        _default_contexts[setting] = context
    return _default_contexts[setting]


async def fast_fetch(url: str, headers: dict[str, str], ssl_context: ssl.SSLContext | bool,
                     limit: int) -> tuple[Answer, bytes] | None:
    """GET a small document (a manifest) whole: a 200 with a Content-Length of
    at most `limit`, or None for anything the general path must handle."""
    if not ENABLED:
        return None
    result = await fast_get(url, headers, ssl_context)
    if result is None:
        return None
    answer, body = result
    if answer.status != 200 or body.length > limit:
        body.close()
        return None
    try:
        return answer, b"".join([bytes(chunk) async for chunk in body.chunks()])
    except FastGetError:
        return None  # broken off: the general path retries


TLS_PROBE_TIMEOUT = 10


async def speaks_tls(host: str) -> bool:
    """Whether `host` (host:port) completes a TLS handshake. The certificate
    is not checked, so no CA bundle is loaded: callers use this only where
    the certificate would not be checked anyway."""
    parts = urlsplit(f"//{host}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        transport, _ = await asyncio.wait_for(asyncio.get_running_loop().create_connection(
            asyncio.Protocol, parts.hostname, parts.port or 443, ssl=context,
            server_hostname=parts.hostname), TLS_PROBE_TIMEOUT)
    except (OSError, ssl.SSLError, asyncio.TimeoutError):
        return False
    transport.close()
    return True
