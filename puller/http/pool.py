"""Connections kept alive between exchanges, per origin. A body read to its
end hands its connection back from whichever I/O thread read it, so the
idle lists are guarded by a lock."""
from __future__ import annotations

import threading

from .connection import CONNECT_TIMEOUT, Connection, Origin
from .tls import TlsPolicy

MAX_IDLE_PER_ORIGIN = 16  # above the client's default 6 parallel blobs and their HEADs


class Pool:
    def __init__(self, tls: TlsPolicy):
        self.tls = tls
        self._idle: dict[Origin, list[Connection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def take(self, origin: Origin) -> Connection | None:
        """An idle connection to `origin` that is still open, if any."""
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                if not idle:
                    return None
                connection = idle.pop()
            if connection.idle_and_open():
                return connection
            connection.close()

    def open(self, origin: Origin, timeout: float = CONNECT_TIMEOUT) -> Connection:
        """Blocking: a new connection (TLS as the policy says for its host)."""
        context = self.tls.context(origin.host) if origin.scheme == "https" else None
        return Connection.open(origin, context, timeout)

    def give(self, connection: Connection) -> None:
        """Keep a connection whose last answer was read to its end."""
        with self._lock:
            idle = self._idle.setdefault(connection.origin, [])
            if not self._closed and len(idle) < MAX_IDLE_PER_ORIGIN:
                idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for connection in connections:
            connection.close()
