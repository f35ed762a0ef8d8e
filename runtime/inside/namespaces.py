"""Two namespaces that need more than unshare(2).

The user namespace of rootless containers, in which the calling user is
root: only the caller's own uid and gid are mapped (to 0), which needs no
setuid helper; inside, the container runs as root over files that the
user owns outside. Cgroup limits are not available this way.

The network namespace of `--network none`: it has only a loopback device,
and it starts down. One ioctl brings it up (no `ip` binary, no subprocess
on the start path), made through libc like the other system calls, so the
start path loads neither _socket, fcntl nor struct.
"""
from __future__ import annotations

import os

from ..kernel import linux

AF_INET = 2
SOCK_DGRAM = 2
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ_SIZE = 40  # struct ifreq: a 16-byte name, then a union (flags: a short)


def rootless() -> bool:
    return os.geteuid() != 0


def enter_user_namespace() -> None:
    """Unshare a user namespace and map our uid/gid to 0 inside it; we then
    hold every capability over namespaces created from here on."""
    uid, gid = os.geteuid(), os.getegid()
    linux.unshare(linux.CLONE_NEWUSER)
    _write("/proc/self/setgroups", "deny")  # required before an unprivileged gid_map
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")


def enter_mapped_user_namespace(uid_map: str, gid_map: str) -> None:
    """As root (--userns=auto): unshare a user namespace whose ids map to
    a range of the host's. Only a process with CAP_SETUID in the parent
    namespace may write such maps, which we lose by unsharing: a helper
    forked before writes them for us, then ends."""
    ready_read, ready_write = os.pipe()
    helper = os.fork()
    if helper == 0:
        _map_parent(ready_read, ready_write, uid_map, gid_map)
    os.close(ready_read)
    try:
        linux.unshare(linux.CLONE_NEWUSER)
    finally:
        os.write(ready_write, b"1")
        os.close(ready_write)
    _, status = os.waitpid(helper, 0)
    if status != 0:
        raise OSError(1, "cannot write the user namespace's uid_map and gid_map")


def _map_parent(ready_read: int, ready_write: int, uid_map: str, gid_map: str) -> None:
    """The helper: once the parent has unshared, write its maps. Never returns."""
    code = 1
    try:
        os.close(ready_write)
        if os.read(ready_read, 1) == b"1":
            parent = os.getppid()
            _write(f"/proc/{parent}/uid_map", uid_map)
            _write(f"/proc/{parent}/gid_map", gid_map)
            code = 0
    finally:
        os._exit(code)


def become_namespace_root() -> None:
    """Take uid and gid 0 of the user namespace we are in (the host's root
    is not mapped in it, and files made by an unmapped id fail with
    EOVERFLOW), keeping every capability in it."""
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)


def setgroups_allowed() -> bool:
    try:
        with open("/proc/self/setgroups") as handle:
            return handle.read().strip() != "deny"
    except OSError:
        return True


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def bring_up(interface: str = "lo") -> None:
    request = bytearray(_IFREQ_SIZE)
    name = interface.encode()
    request[:len(name)] = name
    sock = linux.socket(AF_INET, SOCK_DGRAM)
    try:
        linux.ioctl(sock, SIOCGIFFLAGS, request)
        flags = int.from_bytes(request[16:18], "little") | IFF_UP
        request[16:18] = flags.to_bytes(2, "little")
        linux.ioctl(sock, SIOCSIFFLAGS, request)
    finally:
        os.close(sock)
