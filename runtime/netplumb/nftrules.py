"""pyreg's nftables table as data: the commands of nft's JSON API that build
it, as pure functions of the networks and ports (tests read them without
root). Everything lives in one table of pyreg's own, `ip pyreg`:

    prerouting, output (nat)  fib daddr type local -> jump ports
    ports (regular chain)     one DNAT rule per published port, comment pyreg:<container id>
    postrouting (nat)         per network: masquerade outbound traffic; masquerade
                              DNAT'd loopback (route_localnet) and hairpin traffic
    forward (filter)          per network: drop traffic to other pyreg bridges;
                              internal networks talk to nothing beyond their bridge

The network rules are rebuilt whole (flush and add, one atomic batch) from
the networks in use; the ports chain is never flushed, its rules are added
and deleted one container at a time.
"""
from __future__ import annotations

import ipaddress

from .records import Network, PortBinding

FAMILY, TABLE, PORTS_CHAIN = "ip", "pyreg", "ports"
BASE_CHAINS = {
    "prerouting": {"type": "nat", "hook": "prerouting", "prio": -100},
    "output": {"type": "nat", "hook": "output", "prio": -100},
    "postrouting": {"type": "nat", "hook": "postrouting", "prio": 100},
    "forward": {"type": "filter", "hook": "forward", "prio": 0},
}
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


def container_tag(container_id: str) -> str:
    return f"pyreg:{container_id}"


def _table() -> dict:
    return {"family": FAMILY, "name": TABLE}


def _chain(name: str, **hook) -> dict:
    return {"chain": {"family": FAMILY, "table": TABLE, "name": name, **hook}}


def _rule(chain: str, expr: list, comment: str | None = None) -> dict:
    rule = {"family": FAMILY, "table": TABLE, "chain": chain, "expr": expr}
    if comment:
        rule["comment"] = comment
    return {"add": {"rule": rule}}


def _match(left, right, op: str = "==") -> dict:
    return {"match": {"op": op, "left": left, "right": right}}


def _meta(key: str) -> dict:
    return {"meta": {"key": key}}


def _ip(field: str) -> dict:
    return {"payload": {"protocol": "ip", "field": field}}


def _prefix(network: ipaddress.IPv4Network) -> dict:
    return {"prefix": {"addr": str(network.network_address), "len": network.prefixlen}}


def build_table(networks: list[Network]) -> list[dict]:
    """The table, its chains and every network's rules, replacing the
    network rules there were (the ports chain keeps its rules)."""
    commands: list[dict] = [{"add": {"table": _table()}}]
    for name, hook in BASE_CHAINS.items():
        commands.append({"add": _chain(name, **hook, policy="accept")})
    commands.append({"add": _chain(PORTS_CHAIN)})
    commands += [{"flush": _chain(name)} for name in BASE_CHAINS]
    local = _match({"fib": {"result": "type", "flags": ["daddr"]}}, "local")
    for chain in ("prerouting", "output"):
        commands.append(_rule(chain, [local, {"jump": {"target": PORTS_CHAIN}}]))
    for network in networks:
        others = sorted(n.bridge for n in networks if n.bridge != network.bridge)
        commands += network_rules(network, others)
    return commands


def network_rules(network: Network, other_bridges: list[str]) -> list[dict]:
    tag, bridge, subnet = f"pyreg-net:{network.name}", network.bridge, network.ip_network
    into, out_of = _meta("oifname"), _meta("iifname")
    rules = [
        _rule("postrouting", [_match(into, bridge), _match(_ip("saddr"), _prefix(LOOPBACK)),
                              {"masquerade": None}], tag),
        _rule("postrouting", [_match(into, bridge), _match(_ip("saddr"), _prefix(subnet)),
                              _match({"ct": {"key": "status"}}, "dnat", "in"), {"masquerade": None}], tag),
    ]
    if network.internal:
        rules += [_rule("forward", [_match(out_of, bridge), _match(into, bridge, "!="), {"drop": None}], tag),
                  _rule("forward", [_match(into, bridge), _match(out_of, bridge, "!="), {"drop": None}], tag)]
    else:
        rules.append(_rule("postrouting", [_match(_ip("saddr"), _prefix(subnet)),
                                           _match(into, bridge, "!="), {"masquerade": None}], tag))
    if other_bridges:
        rules.append(_rule("forward", [_match(out_of, bridge), _match(into, {"set": other_bridges}),
                                       {"drop": None}], tag))
    return rules


def port_rule(binding: PortBinding, address: str, container_id: str) -> dict:
    """DNAT of one published port to the container's address."""
    expr = []
    if binding.host_ip:
        expr.append(_match(_ip("daddr"), binding.host_ip))
    expr += [_match({"payload": {"protocol": binding.proto, "field": "dport"}}, binding.host_port),
             {"dnat": {"addr": address, "port": binding.container_port}}]
    return _rule(PORTS_CHAIN, expr, container_tag(container_id))


def delete_rule(chain: str, handle: int) -> dict:
    return {"delete": {"rule": {"family": FAMILY, "table": TABLE, "chain": chain, "handle": handle}}}


def delete_table() -> dict:
    return {"delete": {"table": _table()}}
