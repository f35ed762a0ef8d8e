"""Running nft's JSON API: `nft -j -f -` with a batch of commands, which
the kernel applies all or nothing. The nft binary (Debian's nftables) is the
one dependency: python3-nftables binds the same libnftables, but only for
Debian's own interpreter, not a virtual environment's."""
from __future__ import annotations

import json
import shutil
import subprocess

from . import nftrules
from .errors import NetworkError
from .records import Network, PortBinding


def run(commands: list[dict], echo: bool = False) -> list[dict]:
    """Apply a batch; with echo, return the commands as applied, handles
    included."""
    nft = shutil.which("nft")
    if nft is None:
        raise NetworkError("bridge networks need nftables: install it (apt-get install nftables)")
    args = [nft, "-j", *(["-e", "-a"] if echo else []), "-f", "-"]
    result = subprocess.run(args, input=json.dumps({"nftables": commands}),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise NetworkError(f"nft: {_first_error(result.stderr)}")
    return json.loads(result.stdout)["nftables"] if echo and result.stdout.strip() else []


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if "Error:" in line:
            return line.split("Error:", 1)[1].strip()
    return stderr.strip().splitlines()[0] if stderr.strip() else "failed"


def _list(*what: str) -> list[dict]:
    nft = shutil.which("nft")
    if nft is None:
        return []
    result = subprocess.run([nft, "-j", "-a", "list", *what], capture_output=True, text=True)
    if result.returncode != 0:
        return []  # no such table or chain: nothing of ours there
    return json.loads(result.stdout)["nftables"]


def table_handle() -> int:
    """The handle of pyreg's table, 0 if there is none. A new table gets a
    new handle, so rule handles recorded under another one are void."""
    for item in _list("tables"):
        table = item.get("table")
        if table and (table["family"], table["name"]) == (nftrules.FAMILY, nftrules.TABLE):
            return table["handle"]
    return 0


def sync(networks: list[Network]) -> None:
    """The table for the networks in use; no table when none is."""
    if networks:
        run(nftrules.build_table(networks))
    elif table_handle():
        run([nftrules.delete_table()])


def add_ports(bindings: list[PortBinding], address: str, container_id: str) -> tuple[list[PortBinding], int]:
    """DNAT rules for a container's published ports, in one batch; returns
    the bindings with their rule handles, and the table's handle."""
    if not bindings:
        return [], table_handle()
    applied = run([nftrules.port_rule(b, address, container_id) for b in bindings], echo=True)
    handles = [item["add"]["rule"]["handle"] for item in applied if "rule" in item.get("add", {})]
    return [b.replace(handle=h) for b, h in zip(bindings, handles)], table_handle()


def container_rules(container_id: str) -> list[int]:
    """Handles of the rules that carry the container's tag."""
    tag = nftrules.container_tag(container_id)
    found = []
    for item in _list("chain", nftrules.FAMILY, nftrules.TABLE, nftrules.PORTS_CHAIN):
        rule = item.get("rule")
        if rule and rule.get("comment") == tag:
            found.append(rule["handle"])
    return found


def remove_ports(container_id: str) -> None:
    """Delete every rule tagged with the container, found by listing (the
    tag makes it exact whatever handles were recorded or lost in a crash)."""
    handles = container_rules(container_id)
    if handles:
        run([nftrules.delete_rule(nftrules.PORTS_CHAIN, h) for h in handles])
