"""Progress reporting: one redrawn line per blob plus a total on a terminal,
plain lines otherwise, nothing with -q."""
from __future__ import annotations

import sys
import time
from typing import TextIO


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1000
    return f"{size:.1f}GB"


class Progress:
    """Plain lines when not a terminal: one per finished blob."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.total = 0
        self.done = 0
        self.started = time.monotonic()

    def add(self, key: str, size: int) -> None:
        self.total += size

    def advance(self, key: str, count: int) -> None:
        self.done += count

    def finish(self, key: str, status: str) -> None:
        self.say(f"{key[:19]}: {status}")

    def say(self, line: str) -> None:
        if not self.quiet:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        pass


class TerminalProgress(Progress):
    """Redraws a block of lines: one per blob in flight, and the total."""

    def __init__(self, stream: TextIO | None = None):
        super().__init__(stream)
        self.rows: dict[str, list] = {}  # key -> [done, size, status]
        self.drawn = 0
        self.last_draw = 0.0

    def add(self, key: str, size: int) -> None:
        super().add(key, size)
        self.rows[key] = [0, size, "waiting"]

    def advance(self, key: str, count: int) -> None:
        super().advance(key, count)
        row = self.rows.setdefault(key, [0, 0, ""])
        row[0] += count
        row[2] = "downloading"
        self._draw()

    def finish(self, key: str, status: str) -> None:
        self.rows.setdefault(key, [0, 0, ""])[2] = status
        self._draw(force=True)

    def say(self, line: str) -> None:
        self._clear()
        super().say(line)

    def _clear(self) -> None:
        if self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F\x1b[J")
            self.drawn = 0

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        self._clear()
        lines = [f"{key[7:19]}: {status:<12} {human(done)}/{human(size)}"
                 for key, (done, size, status) in self.rows.items()]
        rate = self.done / max(now - self.started, 1e-3)
        lines.append(f"total: {human(self.done)}/{human(self.total)} at {human(rate)}/s")
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self.drawn = len(lines)

    def close(self) -> None:
        self._draw(force=True)
        self.drawn = 0  # the final picture stays on screen


def make_progress(quiet: bool, stream: TextIO | None = None) -> Progress:
    stream = stream or sys.stderr
    if quiet:
        return Progress(stream, quiet=True)
    if stream.isatty():
        return TerminalProgress(stream)
    return Progress(stream)
