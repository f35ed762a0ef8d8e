"""A short, bounded, per-address delay after repeated authentication failures.

After `free` failures from one address, each new credential check from it
waits `base * 2^(failures - free)` seconds, at most `cap`, and concurrent
checks from that address are spaced by that delay rather than run in
parallel. When the queue would make a caller wait longer than `max_wait`,
the answer is 429 at once, so an attacker cannot pile up sleeping requests.
Failures are forgotten after `forget_after` seconds without one.

Nothing is locked: the delay belongs to the address, never to the user name,
so an attacker hammering `alice` slows only itself, and alice logs in from
anywhere else at full speed. Credentials that were already verified are not
checked again (the callers' caches answer first), so a real user who shares
the attacker's address keeps working too. IPv6 addresses count per /64,
the smallest block one subscriber usually holds. The table is an LRU of at
most `max_addresses` entries: memory stays bounded under a flood of
addresses, and the oldest entries are the ones forgotten.
"""
from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable


@dataclass
class _Record:
    failures: int
    last_failure: float
    next_slot: float


def address_key(address: str | None) -> str:
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "?"
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


class FailureThrottle:
    def __init__(self, free: int = 3, base: float = 0.25, cap: float = 4.0,
                 max_wait: float = 10.0, forget_after: float = 900.0,
                 max_addresses: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.free, self.base, self.cap, self.max_wait = free, base, cap, max_wait
        self.forget_after = forget_after
        self.max_addresses = max_addresses
        self.clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def _record(self, key: str, now: float) -> _Record | None:
        record = self._records.get(key)
        if record is not None and now - record.last_failure > self.forget_after:
            del self._records[key]
            return None
        return record

    def delay(self, address: str | None) -> float:
        """The current delay for one check from this address (0: none)."""
        record = self._record(address_key(address), self.clock())
        if record is None or record.failures < self.free:
            return 0.0
        return min(self.cap, self.base * 2 ** min(record.failures - self.free, 30))

    def reserve(self, address: str | None) -> float | None:
        """Seconds to wait before checking credentials from this address, or
        None when the caller should be told to come back later (429)."""
        delay = self.delay(address)
        if delay == 0.0:
            return 0.0
        now = self.clock()
        record = self._records[address_key(address)]
        start = max(now, record.next_slot)
        wait = start + delay - now
        if wait > self.max_wait:
            return None
        record.next_slot = start + delay
        return wait

    def failed(self, address: str | None) -> None:
        key, now = address_key(address), self.clock()
        record = self._record(key, now)
        if record is None:
            record = self._records[key] = _Record(0, now, 0.0)
        record.failures += 1
        record.last_failure = now
        self._records.move_to_end(key)
        while len(self._records) > self.max_addresses:
            self._records.popitem(last=False)

    def __len__(self) -> int:
        return len(self._records)
