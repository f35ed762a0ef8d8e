"""A container's network for its whole life, between the command line's
choices and netplumb's attach: what `pyreg run --network NAME -p ...`
asks for (a Request), the /etc files it implies, the connect before the
container's first process and the disconnect when it ends, however it
ends.

The supervisor holds the lease: `pyreg run` itself, or for -d the shim,
which takes the lease over before it starts the container. When the holder
dies (kill -9), the next pyreg command that looks (run, ps, rm, network)
sweeps what it left. Each start after the first (start, restart, a
--restart policy) connects again with what the first remembered in the
container's directory, and releases again when that run ends; in a
restarting shim each run's child holds the host ports. netplumb.attach (and pyroute2 behind it, about 150 ms
of imports) loads only for a bridge network or when a lease exists.
"""
from __future__ import annotations

import os

from .. import paths
from ..record import Record

NO_BRIDGE = ("none", "host")  # the modes that are not bridge networks


class Request(Record):
    """The network options of `run`, parsed: network is "none", "host" or
    a bridge network's name; publish holds netplumb PortBindings;
    extra_hosts (name, address) pairs."""
    FIELDS = {"network": "bridge", "aliases": (), "ip": None, "publish": (), "publish_all": False,
              "dns": (), "extra_hosts": ()}


def is_bridge(network: str) -> bool:
    return network not in NO_BRIDGE


def netns_file(root: str, container_id: str) -> str:
    """Where a bridge container's namespace is bound (made by connect);
    "" without root, where the supervisor makes one as it starts the
    container (rootless_network.py)."""
    return paths.container_netns(root, container_id) if os.geteuid() == 0 else ""


def etc_overrides(request: Request | None, hostname: str) -> dict[str, str]:
    """The /etc files the request changes: resolv.conf for a bridge (the
    host's servers minus loopback ones, or --dns), and for none/host the
    --add-host and --dns entries (a bridge's hosts file is connect's)."""
    if request is None or not (is_bridge(request.network) or request.dns or request.extra_hosts):
        return {}
    from ..netplumb import hostsfile
    files = {}
    if is_bridge(request.network) or request.dns:
        files["/etc/resolv.conf"] = hostsfile.resolv_text(hostsfile.host_resolv_conf(), request.dns)
    if not is_bridge(request.network) and request.extra_hosts:
        extra = "".join(f"{address}\t{name}\n" for name, address in request.extra_hosts)
        files["/etc/hosts"] = f"{hostsfile.BASE_HOSTS}{extra}127.0.1.1\t{hostname}\n"
    return files


def exposed_ports(image_config: dict):
    """-P: a binding on a free host port for each of the image's
    ExposedPorts ("80/tcp", "53/udp", "8080")."""
    from ..netplumb import ports
    return [ports.parse(key) for key in sorted(image_config.get("ExposedPorts") or {})]


def connect(root: str, container, request: Request, spec: dict, image_config: dict):
    """Attach the container before its first process: its namespace
    (netns_file), veth, address, port rules and hosts files; all or nothing.
    Returns the Attachment, whose sockets hold the host ports."""
    publish = list(request.publish) + (exposed_ports(image_config) if request.publish_all else [])
    remember(root, container.id, request.replace(publish=tuple(publish), publish_all=False))
    return _attach(root, container, request, publish, spec)


def reconnect(root: str, container, spec: dict):
    """connect() again for a start after the first (`pyreg start`,
    `restart`, a --restart policy): the same network, aliases and ports as
    remembered; an explicit host port is the same one again, a `-p 80` may
    get another, as with docker. None for a container on no bridge."""
    request = remembered(root, container.id)
    if request is None:
        return None
    return _attach(root, container, request, list(request.publish), spec)


def remember(root: str, container_id: str, request: Request) -> None:
    """Kept in the container's directory for reconnect (publish resolved: -P's
    ports are the image's at the first run)."""
    from ..netplumb.records import write_json
    data = {**request.to_json(), "aliases": list(request.aliases), "dns": list(request.dns),
            "publish": [binding.to_json() for binding in request.publish],
            "extra_hosts": [list(pair) for pair in request.extra_hosts]}
    write_json(paths.container_network(root, container_id), data)


def remembered(root: str, container_id: str) -> Request | None:
    from ..netplumb.records import PortBinding, read_json
    try:
        data = read_json(paths.container_network(root, container_id))
    except FileNotFoundError:
        return None
    return Request(network=data["network"], aliases=tuple(data["aliases"]), ip=data["ip"],
                   publish=tuple(PortBinding(**binding) for binding in data["publish"]),
                   dns=tuple(data["dns"]), extra_hosts=tuple(tuple(p) for p in data["extra_hosts"]))


def _attach(root: str, container, request: Request, publish: list, spec: dict):
    if os.geteuid() != 0:
        return _rootless(root, container, request, publish)
    from ..netplumb import attach
    hosts_file = next(m["source"] for m in spec["mounts"] if m["destination"] == "/etc/hosts")
    member = attach.Member(container.id, name=container.name, hostname=spec["hostname"],
                           aliases=tuple(request.aliases), hosts_file=hosts_file,
                           extra_hosts=tuple(request.extra_hosts))
    return attach.connect(root, request.network, member, target=None, publish=publish, ip=request.ip)


def _rootless(root: str, container, request: Request, publish):
    """Without root: no bridge, no lease; pasta or slirp4netns, started by
    the supervisor (rootless_network.py)."""
    from ..errors import RuntimeFailure
    if container.runtime != "pyreg":
        raise RuntimeFailure(f"rootless networking needs --runtime pyreg, not {container.runtime}: "
                             "or use --network none or host")
    if request.network != "bridge" or request.ip or request.aliases:
        raise RuntimeFailure("without root, only the default bridge network (through pasta or "
                             "slirp4netns) is there: no --network NAME, --ip or --network-alias")
    from .rootless_network import RootlessAttachment
    return RootlessAttachment(publish, paths.container(root, container.id))  # the helper's files


def _is_rootless(attachment) -> bool:
    return hasattr(attachment, "before_fork")  # rootless_network's, not netplumb's Attachment


def hand_over(root: str, attachment, container_id: str) -> None:
    """The calling process (the detached shim) now holds the container's
    leases (a rootless helper is started by the shim itself)."""
    if _is_rootless(attachment):
        return
    from ..netplumb import attach
    attach.hand_over(root, container_id, os.getpid())


def release(root: str, attachment, container_id: str) -> None:
    """Once the container's process is gone: the ports' sockets, then
    everything connect made (a rootless helper: stopped)."""
    attachment.close_sockets()
    if _is_rootless(attachment):
        attachment.stop()
        return
    from ..netplumb import attach
    attach.disconnect(root, container_id)


def forget(root: str, container_id: str) -> None:
    """`rm` of a container whose supervisor died: whatever it still holds."""
    if leases_of(root, container_id):
        from ..netplumb import attach
        attach.disconnect(root, container_id)


def sweep(root: str) -> None:
    """Undo the leases of dead holders; cheap when no lease exists."""
    if any(True for _ in _all_leases(root)):
        from ..netplumb import attach
        attach.sweep(root)


def leases_of(root: str, container_id: str) -> list:
    return [lease for lease in _all_leases(root) if lease.container_id == container_id]


def _all_leases(root: str):
    if not os.path.isdir(paths.networks(root)):
        return
    from ..netplumb import ipam
    from ..netplumb.store import NetworkStore
    for network in NetworkStore(root).list():
        yield from ipam.leases(root, network)


def published_ports(root: str, container_id: str) -> list:
    """The container's PortBindings, with the host ports chosen."""
    return [port for lease in leases_of(root, container_id) for port in lease.ports]


def describe_ports(bindings) -> str:
    """As docker's ps: 127.0.0.1:8080->80/tcp, 0.0.0.0:32768->80/tcp."""
    return ", ".join(f"{b.host_ip or '0.0.0.0'}:{b.host_port}->{b.container_port}/{b.proto}"
                     for b in bindings)
