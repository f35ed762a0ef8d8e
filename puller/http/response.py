"""An answer: status, headers, and a body still in its connection. The body
is a BlobStream (puller/streams.py): iterate its chunks, read a small one
whole, or pump it from the socket into a file through a verifier. Read to
its end, it hands the connection back to the pool for the next exchange."""
from __future__ import annotations

from ..streams import BlobStream
from .connection import BodyReader, Connection, Head, Headers
from .pool import Pool

DISCARD_LIMIT = 64 * 1024  # an unread body up to this size is read to keep its connection


class ResponseBody(BlobStream):
    def __init__(self, reader: BodyReader, pool: Pool, keep_alive: bool):
        self._reader, self._pool, self._keep_alive = reader, pool, keep_alive
        self._connection: Connection | None = reader.connection
        if reader.done:
            self._let_go()

    @property
    def length(self) -> int | None:
        return self._reader.remaining

    def readinto(self, view: memoryview) -> int:
        count = self._reader.readinto(view)
        if self._reader.done:
            self._let_go()
        return count

    def abort(self) -> None:
        if self._connection is not None:
            self._connection.abort()

    def close(self) -> None:
        self._let_go()

    def _let_go(self) -> None:
        """Back to the pool when the body was read to its end on a connection
        that stays open; closed otherwise."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._reader.done and self._keep_alive and self._reader.reusable:
            self._pool.give(connection)
        else:
            connection.close()


class Response:
    def __init__(self, head: Head, body: ResponseBody, sent: int = 0):
        self.status, self.body = head.status, body
        self.headers: Headers = head.headers
        self.sent = sent  # request body bytes reported as progress

    async def read(self, limit: int) -> bytes:
        """The body, or its first `limit` bytes."""
        return await self.body.read(limit)

    async def discard(self) -> None:
        """Done with this answer: a small unread body is read so that its
        connection can carry the next request; a large one is dropped."""
        length = self.body.length
        if length is None or length <= DISCARD_LIMIT:
            await self.body.read(DISCARD_LIMIT)
        self.body.close()

    def close(self) -> None:
        self.body.close()

    async def __aenter__(self) -> "Response":
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()
