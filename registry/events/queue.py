"""A bounded queue of events on local disk, one directory per endpoint.

Each batch is one file, written to a temporary name, fsynced and renamed,
so a reader sees whole batches only and a crash loses none that was
renamed. Names sort by time (`<ns>-<pid>-<seq>-<count>.json`), so several
worker processes can append to one directory and delivery keeps their
order. The count in the name bounds the queue without reading it: past
`limit` events the oldest batches are dropped, with a log line, because a
receiver that has been down for days must not fill the disk.

Methods block on the disk; callers run them in a thread.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import time

log = logging.getLogger("pyreg.events")
SUFFIX = ".json"
TEMP_PREFIX = ".tmp-"


def _count_of(name: str) -> int:
    try:
        return int(name[:-len(SUFFIX)].rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 1


class DiskQueue:
    def __init__(self, directory: str, limit: int = 10_000):
        self.directory, self.limit = directory, limit
        os.makedirs(directory, exist_ok=True)
        self._sequence = itertools.count()
        self.dropped = 0
        self._remove_stale_temporaries()

    def batches(self) -> list[str]:
        """Batch file names, oldest first."""
        return sorted(name for name in os.listdir(self.directory)
                      if name.endswith(SUFFIX) and not name.startswith(TEMP_PREFIX))

    def size(self) -> int:
        return sum(_count_of(name) for name in self.batches())

    def append(self, events: list[dict]) -> None:
        if not events:
            return
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(self._sequence):06d}-{len(events)}{SUFFIX}"
        temp = os.path.join(self.directory, TEMP_PREFIX + name)
        with open(temp, "wb") as file:
            file.write(json.dumps(events).encode())
            file.flush()
            os.fsync(file.fileno())
        os.rename(temp, os.path.join(self.directory, name))
        self._enforce_limit()

    def read(self, name: str) -> list[dict] | None:
        """A batch's events; None when it is gone or unreadable (it is then removed)."""
        path = os.path.join(self.directory, name)
        try:
            with open(path, "rb") as file:
                events = json.loads(file.read())
        except FileNotFoundError:
            return None
        except ValueError:
            log.warning("dropping unreadable event batch %s", path)
            self.remove(name)
            return None
        return events if isinstance(events, list) else None

    def remove(self, name: str) -> None:
        try:
            os.unlink(os.path.join(self.directory, name))
        except FileNotFoundError:
            pass

    def _remove_stale_temporaries(self, age: float = 60.0) -> None:
        """What a writer killed mid-batch left; a live one renames within moments."""
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            try:
                if name.startswith(TEMP_PREFIX) and time.time() - os.stat(path).st_mtime > age:
                    os.unlink(path)
            except FileNotFoundError:
                continue

    def _enforce_limit(self) -> None:
        names = self.batches()
        total = sum(_count_of(name) for name in names)
        dropped = 0
        for name in names:
            if total <= self.limit:
                break
            count = _count_of(name)
            self.remove(name)
            total -= count
            dropped += count
        if dropped:
            self.dropped += dropped
            log.warning("event queue %s is full (%d events): dropped the oldest %d",
                        self.directory, self.limit, dropped)
