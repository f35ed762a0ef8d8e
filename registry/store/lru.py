"""One byte-bounded LRU for what the registry keeps in memory: by digest
(small blobs, parsed manifests: content addressed by digest never changes,
so a cached value is never stale), and the running hashes of uploads by
(upload, offset). The bound is on the bytes it holds, or on the count when
every value counts as one."""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteLRU(Generic[K, V]):
    """Values by key, least recently used out first, at most `limit` bytes
    in total and `largest` bytes each (bigger ones are not kept)."""

    def __init__(self, limit: int, largest: int, size_of: Callable[[V], int]):
        self.limit, self.largest, self._size_of = limit, largest, size_of
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._bytes = 0

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def take(self, key: K) -> V | None:
        """Remove and return the value: for entries that serve once."""
        value = self._entries.pop(key, None)
        if value is not None:
            self._bytes -= self._size_of(value)
        return value

    def put(self, key: K, value: V) -> None:
        size = self._size_of(value)
        if size > self.largest or key in self._entries:
            return
        self._entries[key] = value
        self._bytes += size
        while self._bytes > self.limit:
            _, old = self._entries.popitem(last=False)
            self._bytes -= self._size_of(old)
