"""Running nft's JSON API in process, through libnftables (the library
behind the nft command, Debian's libnftables1, installed with nftables): a
batch of commands that the kernel applies all or nothing. In process, not
`nft -j -f -`: a supervisor that has unshared a PID namespace for its
container cannot fork a helper (its first child would become the
namespace's PID 1), and it must still remove its container's rules. Debian's
python3-nftables wraps the same library, but only for Debian's own
interpreter, not a virtual environment's."""
from __future__ import annotations

import ctypes
import json

from . import nftrules
from .errors import NetworkError
from .records import Network, PortBinding

LIBRARY = "libnftables.so.1"
_OUTPUT_HANDLE, _OUTPUT_JSON, _OUTPUT_ECHO = 1 << 3, 1 << 4, 1 << 5
_library = None


def _libnftables() -> ctypes.CDLL:
    global _library
    if _library is None:
        try:
            library = ctypes.CDLL(LIBRARY)
        except OSError:
            raise NetworkError("bridge networks need nftables: install it (apt-get install nftables)") from None
        library.nft_ctx_new.restype = ctypes.c_void_p
        library.nft_ctx_new.argtypes = [ctypes.c_uint32]
        for name in ("nft_ctx_free", "nft_ctx_buffer_output", "nft_ctx_buffer_error"):
            getattr(library, name).argtypes = [ctypes.c_void_p]
        library.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        library.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
            getattr(library, name).argtypes = [ctypes.c_void_p]
            getattr(library, name).restype = ctypes.c_char_p
        _library = library
    return _library


def _nft(text: str, flags: int) -> str:
    """One libnftables call; a context per call, since its netlink socket
    belongs to the network namespace of the thread that made it."""
    library = _libnftables()
    context = library.nft_ctx_new(0)
    if not context:
        raise NetworkError("nft: cannot make a libnftables context")
    try:
        library.nft_ctx_output_set_flags(context, _OUTPUT_JSON | flags)
        library.nft_ctx_buffer_output(context)
        library.nft_ctx_buffer_error(context)
        failed = library.nft_run_cmd_from_buffer(context, text.encode())
        output = (library.nft_ctx_get_output_buffer(context) or b"").decode()
        if failed:
            error = (library.nft_ctx_get_error_buffer(context) or b"").decode()
            raise NetworkError(f"nft: {_first_error(error)}")
        return output
    finally:
        library.nft_ctx_free(context)


def run(commands: list[dict], echo: bool = False) -> list[dict]:
    """Apply a batch; with echo, return the commands as applied, handles
    included."""
    output = _nft(json.dumps({"nftables": commands}), (_OUTPUT_ECHO | _OUTPUT_HANDLE) if echo else 0)
    return json.loads(output)["nftables"] if echo and output.strip() else []


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if "Error:" in line:
            return line.split("Error:", 1)[1].strip()
    return stderr.strip().splitlines()[0] if stderr.strip() else "failed"


def _list(*what: str) -> list[dict]:
    try:
        output = _nft(json.dumps({"nftables": [{"list": _listing(*what)}]}), _OUTPUT_HANDLE)
    except NetworkError:
        return []  # no such table or chain: nothing of ours there
    return json.loads(output)["nftables"] if output.strip() else []


def _listing(kind: str, *names: str) -> dict:
    if kind == "tables":
        return {"tables": None}
    family, table, chain = names
    return {"chain": {"family": family, "table": table, "name": chain}}


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
