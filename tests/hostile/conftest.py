"""One real `pyreg serve` process for the whole hostile table, seeded once.

Its stderr goes to a log file whose tail is shown when a row fails, so a
server-side traceback is part of the failure report.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import subprocess

import pytest

from tests.hostile.state import Seed, seed_registry
from tests.support.pyreg_server import pyreg_process


@dataclass
class HostileServer:
    url: str
    port: int
    storage: Path
    log: Path
    process: subprocess.Popen
    seed: Seed

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int, limit: int = 4000) -> str:
        """What the server logged after `offset` (a row's own traceback, if any)."""
        with open(self.log, "rb") as log:
            log.seek(offset)
            return log.read(limit).decode(errors="replace") or "(nothing)"


@pytest.fixture(scope="session")
def hostile_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    storage, log = root / "storage", root / "server.log"
    with open(log, "wb") as stderr, pyreg_process(storage, stderr=stderr) as (url, process):
        yield HostileServer(url, int(url.rsplit(":", 1)[1]), storage, log, process, seed_registry(url))
