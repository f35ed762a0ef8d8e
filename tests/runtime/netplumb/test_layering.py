"""What host-side networking may import: pyroute2 (about 150 ms of
imports here) only where netlink is spoken, so `network ls`, -p parsing and
rootless networking never load it; and from the rest of the runtime only
the small shared pieces, never the container's start path."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "runtime" / "netplumb"
NETLINK_MODULES = {"links", "attach"}  # attach drives links
ALLOWED_FROM_RUNTIME = {"record", "errors", "paths", "kernel", "kernel.linux"}


def test_pyroute2_loads_only_with_netlink():
    light = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in NETLINK_MODULES | {"__init__"})
    code = ("import sys\n" + "".join(f"import runtime.netplumb.{m}\n" for m in light)
            + "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyroute2'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_netplumb_takes_only_small_shared_pieces_of_the_runtime():
    taken = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 2:
                taken |= {node.module} if node.module else {alias.name for alias in node.names}
    assert taken <= ALLOWED_FROM_RUNTIME, taken
