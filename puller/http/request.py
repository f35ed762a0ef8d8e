"""One exchange on one connection: write a request (its body from memory, a
file by sendfile, or a stream of chunks), read the answer's head. Every
blocking step runs in an I/O thread and can be cancelled (until_done)."""
from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, BinaryIO, Callable, Iterator, Union
from urllib.parse import urlsplit

from ..errors import CorruptImage, RegistryError, local_failures
from ..streams import in_io_thread, until_done
from .connection import BodyReader, Connection, Head, Origin
from .pool import Pool
from .response import Response, ResponseBody

Progress = Callable[[int], None]


@dataclass(frozen=True)
class FileBody:
    """The file at `path`, which must be exactly `length` bytes long."""
    path: Path
    length: int
    progress: Progress | None = None


@dataclass(frozen=True)
class StreamBody:
    """`length` bytes from a fresh iterator per attempt."""
    open: Callable[[], AsyncIterator[bytes]]
    length: int
    progress: Progress | None = None


Body = Union[None, bytes, FileBody, StreamBody]


class ExchangeFailed(Exception):
    """The network failed before an answer arrived. `reused` says the
    connection had carried an exchange before (the peer may have closed it
    while it sat idle: a fresh connection is worth one more try)."""

    def __init__(self, cause: OSError, reused: bool):
        super().__init__(str(cause))
        self.cause, self.reused = cause, reused


def body_length(body: Body) -> int | None:
    if body is None:
        return None
    return len(body) if isinstance(body, bytes) else body.length


def request_head(method: str, url: str, headers: dict[str, str], length: int | None) -> bytes:
    """The request line and headers. Parts that came from a registry (a
    Location, a token, a manifest's media type) must not smuggle a line of
    their own into the request."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    for what, text in (("target", target), ("host", parts.netloc), *headers.items()):
        if not (text.isascii() and text.isprintable()) or (what == "target" and " " in text):
            raise RegistryError(f"refusing to send a request whose {what} is {text[:80]!r}")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "User-Agent: pyreg",
             *(f"{name}: {value}" for name, value in headers.items())]
    if length is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {length or 0}")
    return "\r\n".join([*lines, "", ""]).encode("latin-1")


async def exchange(pool: Pool, method: str, url: str, headers: dict[str, str], body: Body,
                   fresh: bool = False) -> Response:
    """Send one request and read its answer's head. Raises ExchangeFailed
    for network failures; anything the body's source raises passes through."""
    origin = Origin.of(url)
    with _opened(body) as file:
        connection = None if fresh else pool.take(origin)
        reused = connection is not None
        sent = _Sent(body)
        try:
            if connection is None:
                connection = await _connect(pool, origin)
            head = await _send(connection, request_head(method, url, headers, body_length(body)),
                               body, file, sent)
        except BaseException as err:
            sent.take_back()
            if connection is not None:
                connection.close()
            if isinstance(err, OSError):
                raise ExchangeFailed(err, reused) from err
            raise
    reader = BodyReader.for_answer(connection, head, method)
    return Response(head, ResponseBody(reader, pool, head.keep_alive), sent.total)


async def _connect(pool: Pool, origin: Origin) -> Connection:
    """A new connection; one that arrives after its caller was cancelled is closed."""
    connecting = asyncio.ensure_future(in_io_thread(pool.open, origin))
    try:
        return await asyncio.shield(connecting)
    except asyncio.CancelledError:
        connecting.add_done_callback(lambda done: done.exception() or done.result().close())
        raise


class _Sent:
    """Progress of a request body, reported as it goes and taken back when
    the attempt fails (the caller sends it again, or gives up)."""

    def __init__(self, body: Body):
        self.report = getattr(body, "progress", None)
        self.total = 0
        self.loop = asyncio.get_running_loop()

    def __call__(self, count: int) -> None:
        self.total += count
        if self.report is not None:
            self.report(count)

    def from_thread(self, count: int) -> None:
        self.loop.call_soon_threadsafe(self, count)

    def take_back(self) -> None:
        if self.report is not None and self.total:
            self.report(-self.total)
        self.total = 0


@contextlib.contextmanager
def _opened(body: Body) -> Iterator[BinaryIO | None]:
    """A FileBody's file, open before any byte goes out: a local file that is
    missing or of the wrong size is the client's failure, not the network's."""
    if not isinstance(body, FileBody):
        yield None
        return
    with local_failures():
        handle = open(body.path, "rb")
    with handle:
        if os.fstat(handle.fileno()).st_size != body.length:
            raise CorruptImage(f"{body.path} is not {body.length} bytes long")
        yield handle


async def _send(connection: Connection, head: bytes, body: Body, file: BinaryIO | None,
                sent: _Sent) -> Head:
    abort = connection.abort
    if file is not None:
        await until_done(connection.send_file, head, file, body.length, sent.from_thread,
                         abort=abort)
    elif isinstance(body, StreamBody):
        await until_done(connection.send, head, abort=abort)
        await _send_stream(connection, body, sent)
    else:
        await until_done(connection.send, head + (body or b""), abort=abort)
    return await until_done(connection.read_head, abort=abort)


async def _send_stream(connection: Connection, body: StreamBody, sent: _Sent) -> None:
    total = 0
    async for chunk in body.open():
        total += len(chunk)
        if total > body.length:
            raise ValueError(f"a request body is longer than the {body.length} bytes announced")
        await until_done(connection.send, chunk, abort=connection.abort)
        sent(len(chunk))
    if total != body.length:
        raise ValueError(f"a request body ended after {total} of {body.length} bytes")
