"""Network verbs, docker-like: `network create|ls|inspect|rm`, `port`, and
the network options of `run` parsed into a runtime networking.Request.
Thin: parse, call runtime.netplumb, print. Imported by `run`, so nothing
heavy at the top: netlink (pyroute2) loads only where a bridge is touched.
"""
from __future__ import annotations

import os

from pyreg_cli.main import CliError
from runtime.errors import EXIT_SETUP_FAILED, RuntimeFailure, describe

DEFAULT_NETWORK_VARIABLE = "PYREG_NETWORK"  # the network of a `run` without --network
EXIT_NETWORK_VERB = 1  # docker's exit status for a failed `network` verb


def default_network() -> str:
    """bridge, as docker; PYREG_NETWORK=none (the test suite's) or any
    network's name changes it."""
    return os.environ.get(DEFAULT_NETWORK_VARIABLE) or "bridge"


def _address(text: str, what: str) -> str:
    import ipaddress
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise CliError(f"invalid {what} {text!r}: want an IPv4 address", EXIT_SETUP_FAILED) from None


def _extra_host(text: str) -> tuple[str, str]:
    """--add-host HOST:IP (docker also takes HOST=IP)."""
    name, sep, address = text.partition("=") if "=" in text else text.partition(":")
    if not sep or not name:
        raise CliError(f"invalid --add-host {text!r}: want HOST:IP", EXIT_SETUP_FAILED)
    return name, _address(address, "--add-host address")


def network_request(args, network: str):
    """The network options of `run`, checked against each other."""
    from runtime.container.networking import Request, is_bridge
    try:
        publish = tuple(_parse_port(text) for text in args.publish)
    except RuntimeFailure as err:
        raise CliError(describe(err), EXIT_SETUP_FAILED) from None
    bridge = is_bridge(network)
    if not bridge and (args.ip or args.network_alias):
        raise CliError(f"--ip and --network-alias need a bridge network, not {network}", EXIT_SETUP_FAILED)
    if network == "none" and (publish or args.publish_all):
        raise CliError("published ports need a bridge network, not none", EXIT_SETUP_FAILED)
    return Request(network=network, aliases=tuple(args.network_alias),
                   ip=_address(args.ip, "--ip") if args.ip else None,
                   publish=publish if bridge else (), publish_all=args.publish_all and bridge,
                   dns=tuple(_address(d, "--dns") for d in args.dns),
                   extra_hosts=tuple(_extra_host(h) for h in args.add_host))


def _parse_port(text: str):
    from runtime.netplumb import ports  # socket and ipaddress: only when a port is published
    return ports.parse(text)


def _store(root: str):
    from runtime.netplumb.store import NetworkStore
    return NetworkStore(root)


def _failing(action):
    """Run action; a network failure is one line, exit 1 as docker's."""
    try:
        return action()
    except (RuntimeFailure, OSError) as err:
        raise CliError(describe(err), EXIT_NETWORK_VERB) from None


def cmd_network_create(args) -> int:
    network = _failing(lambda: _store(args.root).create(args.name, subnet=args.subnet,
                                                        gateway=args.gateway, internal=args.internal))
    print(network.id)
    return 0


def cmd_network_ls(args) -> int:
    from runtime.container.networking import sweep
    sweep(args.root)
    store = _store(args.root)
    networks = _failing(lambda: [store.default(), *[n for n in store.list() if n.name != "bridge"]])
    rows = [("NETWORK ID", "NAME", "DRIVER", "SUBNET")]
    rows += [(n.id[:12], n.name, n.driver, n.subnet) for n in networks]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("   ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def cmd_network_inspect(args) -> int:
    import json
    from runtime.container.networking import sweep
    from runtime.netplumb import ipam
    sweep(args.root)
    store, shown = _store(args.root), []
    for key in args.networks:
        network = _failing(lambda: store.find(key))
        containers = {lease.container_id: {"Name": lease.name, "IPv4Address": f"{lease.address}/"
                                           f"{network.prefix_len}", "Aliases": list(lease.aliases)}
                      for lease in ipam.leases(args.root, network)}
        shown.append({"Name": network.name, "Id": network.id, "Driver": network.driver,
                      "Internal": network.internal, "Options": {"bridge": network.bridge,
                                                                "mtu": str(network.mtu)},
                      "IPAM": {"Config": [{"Subnet": network.subnet, "Gateway": network.gateway}]},
                      "Containers": containers})
    print(json.dumps(shown, indent=4))
    return 0


def cmd_network_rm(args) -> int:
    from runtime.netplumb import attach
    failed = 0
    for key in args.networks:
        try:
            _failing(lambda: attach.remove_network(args.root, key))
            print(key)
        except CliError as err:
            print(f"pyreg: {err}", file=__import__("sys").stderr)
            failed = EXIT_NETWORK_VERB
    return failed


def cmd_port(args) -> int:
    from runtime.container.networking import published_ports, sweep
    from runtime.container.state import ContainerStore
    sweep(args.root)
    container = _failing(lambda: ContainerStore(args.root).find(args.container))
    for binding in published_ports(args.root, container.id):
        own = f"{binding.container_port}/{binding.proto}"
        if args.port in (None, own, str(binding.container_port)):
            print(f"{own} -> {binding.host_ip or '0.0.0.0'}:{binding.host_port}")
    return 0


def register(subparsers) -> None:
    network = subparsers.add_parser("network", help="manage bridge networks")
    verbs = network.add_subparsers(dest="network_command", metavar="COMMAND")
    verbs.required = True
    create = verbs.add_parser("create", help="make a bridge network")
    create.add_argument("--subnet", metavar="CIDR", help="its subnet (default: a free one)")
    create.add_argument("--gateway", metavar="IP", help="its gateway (default: the first address)")
    create.add_argument("--internal", action="store_true", help="no outbound access, no ports")
    create.add_argument("-d", "--driver", choices=("bridge",), default="bridge")
    create.add_argument("name")
    create.set_defaults(func=cmd_network_create)
    ls = verbs.add_parser("ls", help="list networks")
    ls.set_defaults(func=cmd_network_ls)
    inspect = verbs.add_parser("inspect", help="show networks and their containers")
    inspect.add_argument("networks", nargs="+")
    inspect.set_defaults(func=cmd_network_inspect)
    rm = verbs.add_parser("rm", help="remove networks no container uses")
    rm.add_argument("networks", nargs="+")
    rm.set_defaults(func=cmd_network_rm)
    port = subparsers.add_parser("port", help="list a container's published ports")
    port.add_argument("container")
    port.add_argument("port", nargs="?", help="PORT[/PROTO]: only this one")
    port.set_defaults(func=cmd_port)
