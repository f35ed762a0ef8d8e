"""User-defined networks through the command line: containers of one
network find each other by --name and --network-alias (hosts files kept per
network), a container of another network reaches neither; addresses are
never shared while held and come back once released; and every refusal is
one line, exit 125 for `run` (1 for `network`, as docker), with nothing
left half-made."""
from __future__ import annotations

import json
import socket

from tests.runtime.network.conftest import WEB_IMAGE

PAGE = "served by pyreg\n"
NOTHING = {"veths": [], "rules": [], "leases": [], "namespaces": []}


def _fetch(cli, network: str, host: str) -> str:
    """The page at host:80 as a container of network sees it; "" if none
    answers. (busybox nc: the static busybox's wget crashes here.)"""
    result = cli("run", "--rm", "--network", network, "busybox", "sh", "-c",
                 f'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 {host} 80')
    return result.stdout.decode().partition("\r\n\r\n")[2]


def _addresses(cli, network: str) -> dict[str, str]:
    shown = json.loads(cli.ok("network", "inspect", network))[0]["Containers"]
    return {entry["Name"]: entry["IPv4Address"] for entry in shown.values()}


def test_names_and_aliases_resolve_within_a_network_and_nothing_crosses(cli):
    cli.ok("network", "create", "--subnet", "10.88.0.0/24", "app")
    cli.ok("network", "create", "other")
    web = cli.ok("run", "-d", "--name", "web", "--network", "app", "--network-alias", "site", WEB_IMAGE)
    for name in ("web", "site", web[:12]):
        assert _fetch(cli, "app", name) == PAGE
    hosts = cli.ok("run", "--rm", "--network", "app", "busybox", "cat", "/etc/hosts")
    assert f"10.88.0.2\tweb site {web[:12]}\n" in hosts
    assert _fetch(cli, "other", "web") == ""  # no name
    assert _fetch(cli, "other", "10.88.0.2") == ""  # no way through
    assert _fetch(cli, "bridge", "10.88.0.2") == ""
    listing = cli.ok("network", "ls")
    assert all(name in listing for name in ("bridge", "app", "other")) and "10.88.0.0/24" in listing


def test_addresses_are_not_reused_while_held_and_are_after(cli):
    cli.ok("network", "create", "--subnet", "10.89.0.0/24", "pool")
    for name in ("first", "second"):
        cli.ok("run", "-d", "--name", name, "--network", "pool", "busybox", "sleep", "300")
    assert _addresses(cli, "pool") == {"first": "10.89.0.2/24", "second": "10.89.0.3/24"}
    taken = cli("run", "--rm", "--network", "pool", "--ip", "10.89.0.3", "busybox", "true")
    assert taken.returncode == 125 and taken.stderr.decode().splitlines() == [
        "pyreg: address 10.89.0.3 is already in use on network pool"]
    cli.ok("rm", "-f", "first")
    cli.ok("run", "-d", "--name", "third", "--network", "pool", "busybox", "sleep", "300")
    assert _addresses(cli, "pool") == {"second": "10.89.0.3/24", "third": "10.89.0.2/24"}
    fixed = cli.ok("run", "--rm", "--network", "pool", "--ip", "10.89.0.77", "busybox", "ip", "-4", "addr")
    assert "inet 10.89.0.77/24" in fixed


def _refused(cli, code: int, *args: str) -> str:
    result = cli(*args)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == code and len(lines) == 1, (args, result.returncode, lines)
    return lines[0]


def test_bad_input_is_one_line_and_leaves_nothing(cli):
    cli.ok("network", "create", "--subnet", "10.90.0.0/24", "busy")
    cli.ok("run", "-d", "--name", "holder", "--network", "busy", "busybox", "sleep", "300")
    before = cli.ok("ps", "-aq")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        assert "already in use" in _refused(cli, 125, "run", "--rm", "-p", f"127.0.0.1:{port}:80", WEB_IMAGE)
    assert "is not in network busy's subnet" in _refused(cli, 125, "run", "--rm", "--network", "busy",
                                                         "--ip", "10.91.0.5", "busybox", "true")
    assert "not found" in _refused(cli, 125, "run", "--rm", "--network", "nowhere", "busybox", "true")
    assert "invalid port" in _refused(cli, 125, "run", "--rm", "-p", "80:http", WEB_IMAGE)
    assert "invalid port" in _refused(cli, 125, "run", "--rm", "-p", "1-2:80", WEB_IMAGE)
    assert "overlaps" in _refused(cli, 1, "network", "create", "--subnet", "10.90.0.128/25", "clash")
    assert "has active endpoints" in _refused(cli, 1, "network", "rm", "busy")
    assert "not found" in _refused(cli, 1, "network", "rm", "nowhere")
    assert cli.ok("ps", "-aq") == before  # no container half-made
    leftovers = cli.leftovers()
    assert len(leftovers["veths"]) == 1 and leftovers["rules"] == [] and len(leftovers["leases"]) == 1
    cli.ok("rm", "-f", "holder")
    assert cli.ok("network", "rm", "busy") == "busy\n"
    assert cli.leftovers() == NOTHING
