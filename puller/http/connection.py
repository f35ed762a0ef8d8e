"""One HTTP/1.1 connection on a blocking socket, plain or TLS, used from
I/O threads (puller/streams.py): it writes a request, reads an answer's
head, and frames its body by Content-Length, chunked transfer encoding or
the end of the connection. Kept alive between exchanges by the pool."""
from __future__ import annotations

import select
import socket
import ssl
from dataclasses import dataclass
from typing import BinaryIO, Callable, NamedTuple
from urllib.parse import urlsplit

from ..errors import Interrupted

CONNECT_TIMEOUT = 30
READ_TIMEOUT = 300  # seconds without a byte before a transfer counts as broken
MAX_HEAD = 64 * 1024
SEND_PIECE = 16 * 1024 * 1024  # sendfile's progress is reported after each piece


class Origin(NamedTuple):
    scheme: str
    host: str  # host:port as the URL spells it, for the Host header
    hostname: str
    port: int

    @classmethod
    def of(cls, url: str) -> "Origin":
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        return cls(parts.scheme, parts.netloc, parts.hostname or "", parts.port or (443 if secure else 80))


class Headers(dict):
    """Header values by lower-case name. A repeated header keeps its first
    value (of WWW-Authenticate, the first challenge: what aiohttp gave too)."""

    def add(self, name: str, value: str) -> None:
        self.setdefault(name.strip().lower(), value.strip())

    def get(self, name: str, default=None):
        return super().get(name.lower(), default)


@dataclass
class Head:
    status: int
    headers: Headers
    keep_alive: bool


class Connection:
    """Bytes received past what was consumed wait in `_pending`."""

    def __init__(self, sock: socket.socket, origin: Origin):
        self.sock, self.origin = sock, origin
        self._pending = bytearray()

    @classmethod
    def open(cls, origin: Origin, context: ssl.SSLContext | None,
             timeout: float = CONNECT_TIMEOUT) -> "Connection":
        """Connect (and shake hands, for https); raises OSError or ssl.SSLError."""
        sock = socket.create_connection((origin.hostname, origin.port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if origin.scheme == "https":
                sock = context.wrap_socket(sock, server_hostname=origin.hostname)
            sock.settimeout(READ_TIMEOUT)
        except BaseException:
            sock.close()
            raise
        return cls(sock, origin)

    # writing

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_file(self, head: bytes, handle: BinaryIO, size: int,
                  sent: Callable[[int], None]) -> None:
        """`head`, then the first `size` bytes of an open file by sendfile:
        from the page cache to the socket, no byte passing through Python."""
        self.sock.sendall(head)
        offset = 0
        while offset < size:
            count = self.sock.sendfile(handle, offset, min(SEND_PIECE, size - offset))
            if count == 0:
                raise ConnectionError("the registry stopped reading")
            offset += count
            sent(count)

    # reading

    def readinto(self, view: memoryview) -> int:
        """Fill some of `view`; 0 when the peer closed."""
        if self._pending:
            count = min(len(view), len(self._pending))
            view[:count] = self._pending[:count]
            del self._pending[:count]
            return count
        return self.sock.recv_into(view, len(view))

    def read_line(self, limit: int = MAX_HEAD) -> bytes:
        """One CRLF-terminated line, without its CRLF."""
        while (end := self._pending.find(b"\n")) < 0:
            if len(self._pending) > limit:
                raise Interrupted("an answer's line is too long")
            piece = self.sock.recv(MAX_HEAD)
            if not piece:
                raise ConnectionError("connection closed in the middle of an answer")
            self._pending += piece
        line = bytes(self._pending[:end])
        del self._pending[:end + 1]
        return line.rstrip(b"\r")

    def read_head(self) -> Head:
        """The status line and headers of the next answer (1xx ones skipped)."""
        while True:
            status_line = self.read_line().decode("latin-1")
            version, _, rest = status_line.partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/1.") or not code.isdigit():
                raise Interrupted(f"malformed status line {status_line[:80]!r}")
            headers, size = Headers(), 0
            while line := self.read_line():
                size += len(line)
                if size > MAX_HEAD:
                    raise Interrupted("an answer's headers are too large")
                name, _, value = line.decode("latin-1").partition(":")
                headers.add(name, value)
            if not 100 <= int(code) < 200:
                break
        connection = (headers.get("connection") or "").lower()
        keep_alive = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
        return Head(int(code), headers, keep_alive)

    # state

    def idle_and_open(self) -> bool:
        """Whether a kept connection can take another request: nothing may
        be waiting to be read (an idle peer that hung up reads as ready)."""
        if self._pending:
            return False
        try:
            ready, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not ready

    def abort(self) -> None:
        """Make a blocked read or write return at once (from any thread)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


class BodyReader:
    """The body of one answer on a connection. `remaining` is known for a
    Content-Length body; `done` is set once its last byte was read."""

    def __init__(self, connection: Connection, length: int | None, chunked: bool):
        self.connection = connection
        self.remaining = length
        self.chunked = chunked
        self.done = length == 0 and not chunked
        self._chunk_left = 0
        self._chunks_seen = 0

    @classmethod
    def for_answer(cls, connection: Connection, head: Head, method: str) -> "BodyReader":
        if method == "HEAD" or head.status in (204, 304):
            return cls(connection, 0, False)
        if "chunked" in (head.headers.get("transfer-encoding") or "").lower():
            return cls(connection, None, True)
        length = head.headers.get("content-length") or ""
        return cls(connection, int(length) if length.isdigit() else None, False)

    @property
    def reusable(self) -> bool:
        """Whether the connection can carry another exchange after this body."""
        return self.remaining is not None or self.chunked

    def readinto(self, view: memoryview) -> int:
        """Some of the body into `view`; 0 at its end. Raises Interrupted
        when the body breaks off."""
        if self.done:
            return 0
        try:
            if self.chunked:
                return self._read_chunked(view)
            if self.remaining is None:  # until the connection ends
                count = self.connection.readinto(view)
                self.done = count == 0
                return count
            return self._read_counted(view)
        except socket.timeout:
            raise Interrupted(f"download interrupted: no data for {READ_TIMEOUT}s") from None
        except (OSError, ValueError) as err:
            raise Interrupted(f"download interrupted: {getattr(err, 'strerror', None) or err}") from None

    def _read_counted(self, view: memoryview) -> int:
        count = self.connection.readinto(view[:self.remaining])
        if count == 0:
            raise Interrupted("download interrupted: connection closed by the registry")
        self.remaining -= count
        self.done = self.remaining == 0
        return count

    def _read_chunked(self, view: memoryview) -> int:
        if self._chunk_left == 0:
            if self._chunks_seen and self.connection.read_line(2):
                raise ValueError("chunk not followed by CRLF")
            self._chunk_left = int(self.connection.read_line(1024).split(b";")[0], 16)
            self._chunks_seen += 1
            if self._chunk_left == 0:
                while self.connection.read_line():  # trailers, up to an empty line
                    pass
                self.done = True
                return 0
        count = self.connection.readinto(view[:self._chunk_left])
        if count == 0:
            raise Interrupted("download interrupted: connection closed by the registry")
        self._chunk_left -= count
        return count
