"""One measurement of storage usage shared by the requests that ask for it.

A measurement walks the whole storage (registry/gc/usage.py), so answers
are served from the last one for `max_age` seconds, and requests that
arrive while one runs wait for it rather than starting their own. A delete
through this registry forgets it; another replica's writes show within
`max_age`.
"""
from __future__ import annotations

import asyncio
import time

from storage_backends.base import StorageDriver

from ..gc.usage import Usage, measure_usage

MAX_AGE = 10.0


class UsageMeter:
    def __init__(self, driver: StorageDriver, max_age: float = MAX_AGE):
        self.driver, self.max_age = driver, max_age
        self._lock = asyncio.Lock()
        self._last: tuple[float, Usage] | None = None

    async def current(self) -> Usage:
        async with self._lock:
            if self._last is None or time.monotonic() - self._last[0] > self.max_age:
                self._last = (time.monotonic(), await measure_usage(self.driver))
            return self._last[1]

    def forget(self) -> None:
        self._last = None
