"""Name resolution for a container: its /etc/hosts and /etc/resolv.conf.

Containers of a user-defined network find each other by name, alias and
short id through /etc/hosts, rewritten for every member of the network each
time one joins or leaves (under the networks lock). Chosen over docker's
embedded DNS server because pyreg has no daemon: a DNS responder per
network would be a process of its own whose life spans many containers,
to start, supervise and clean up after a kill -9, while the hosts files
change exactly when the leases do, in the same locked step. The cost: a
program that queries DNS itself (nslookup, dig) does not see peers; every
libc resolver (glibc, musl, busybox's) reads /etc/hosts on each lookup.

A hosts file must be pyreg's own file, bind-mounted onto the container's
/etc/hosts (in its state directory, out of the container's reach): it is
rewritten in place, because a rename would not reach through the bind
mount, and opened without following a symlink.
"""
from __future__ import annotations

import contextlib
import ipaddress
import os
import stat

from .records import Lease

BASE_HOSTS = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
              "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
              "ff02::2\tip6-allrouters\n")
FALLBACK_NAMESERVERS = ("8.8.8.8", "8.8.4.4")  # docker's, when the host has only loopback ones
HOST_RESOLV = "/etc/resolv.conf"
SYSTEMD_RESOLV = "/run/systemd/resolve/resolv.conf"  # the real servers behind 127.0.0.53


def hosts_text(own: Lease, peers: list[Lease]) -> str:
    lines = [BASE_HOSTS]
    for name, address in own.extra_hosts:  # --add-host
        lines.append(f"{address}\t{name}\n")
    own_names = [n for n in dict.fromkeys([own.hostname, *own.names]) if n]
    lines.append(f"{own.address}\t{' '.join(own_names)}\n")
    for peer in sorted(peers, key=lambda p: ipaddress.IPv4Address(p.address)):
        if peer.container_id != own.container_id and peer.names:
            lines.append(f"{peer.address}\t{' '.join(peer.names)}\n")
    return "".join(lines)


def rewrite_in_place(path: str, text: str, create: bool = False) -> None:
    """Write then truncate, so a reader never finds the file empty; unless
    create, a file already gone (its container is being removed) is left
    alone."""
    flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o644)
    except (FileNotFoundError, NotADirectoryError):
        return
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return
        data = text.encode()
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)


def _parse_resolv(text: str) -> tuple[list[str], list[str], list[str]]:
    nameservers, search, options = [], [], []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver":
            nameservers.append(words[1])
        elif words[:1] in (["search"], ["domain"]):
            search = words[1:]
        elif words[:1] == ["options"]:
            options += words[1:]
    return nameservers, search, options


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def resolv_text(host_text: str, dns=(), search=(), options=()) -> str:
    """The container's resolv.conf from the host's: its nameservers minus
    loopback ones (unreachable from the container), as docker does; dns,
    search and options replace the host's when given (--dns...)."""
    host_servers, host_search, host_options = _parse_resolv(host_text)
    servers = list(dns) or [s for s in host_servers if not _is_loopback(s)] or list(FALLBACK_NAMESERVERS)
    lines = [f"nameserver {s}\n" for s in servers]
    if search or host_search:
        lines.append(f"search {' '.join(search or host_search)}\n")
    if options or host_options:
        lines.append(f"options {' '.join(options or host_options)}\n")
    return "".join(lines)


def host_resolv_conf() -> str:
    """The host's resolver file; behind systemd-resolved's 127.0.0.53 stub,
    the file naming the real servers."""
    text = ""
    with contextlib.suppress(OSError), open(HOST_RESOLV) as handle:
        text = handle.read()
    servers = _parse_resolv(text)[0]
    if servers and all(_is_loopback(s) for s in servers):
        with contextlib.suppress(OSError), open(SYSTEMD_RESOLV) as handle:
            return handle.read()
    return text
