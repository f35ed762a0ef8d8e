"""Fixtures for host-side networking tests: the sandbox namespace (see
sandbox.py) and a data root whose leftovers are cleared whatever a test did."""
from __future__ import annotations

import pytest

from tests.runtime.netplumb.sandbox import sandbox  # noqa: F401 - a fixture


@pytest.fixture
def net_root(sandbox, tmp_path):  # noqa: F811 - the fixture above
    root = str(tmp_path / "root")
    yield root
    from runtime.netplumb import attach
    attach.sweep(root, alive=lambda lease: False)  # unmounts namespaces a failed test left
