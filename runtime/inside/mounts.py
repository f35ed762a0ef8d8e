"""Building the container's filesystem view inside its new mount namespace:
the spec's mounts under the rootfs, a minimal /dev, pivot_root, masked and
read-only paths, and a read-only root when asked.

Mount destinations are created and opened beneath the rootfs without
following symlinks, then mounted on through /proc/self/fd, so an image whose
/etc/hosts is a symlink to a host path cannot make us mount over that path.
"""
from __future__ import annotations

import errno
import os
import stat

from ..errors import RuntimeFailure, describe
from ..fs.beneath import Beneath, UnsafeEntry, lstat_at, split_member_path
from ..kernel import linux
from ..kernel.arch import syscall_number

_FLAGS = {
    "ro": (linux.MS_RDONLY, True), "rw": (linux.MS_RDONLY, False),
    "rro": (linux.MS_RDONLY, True),  # binds apply their flags to every submount anyway
    "nosuid": (linux.MS_NOSUID, True), "suid": (linux.MS_NOSUID, False),
    "nodev": (linux.MS_NODEV, True), "dev": (linux.MS_NODEV, False),
    "noexec": (linux.MS_NOEXEC, True), "exec": (linux.MS_NOEXEC, False),
    "strictatime": (linux.MS_STRICTATIME, True),
    "bind": (linux.MS_BIND, True), "rbind": (linux.MS_BIND | linux.MS_REC, True),
}
_PROPAGATION = {"private", "rprivate", "slave", "rslave", "shared", "rshared"}
DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
           ("urandom", 1, 9), ("tty", 5, 0))
DEV_LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"))
# the new mount API's flags (open_tree, move_mount, mount_setattr)
OPEN_TREE_CLONE = 1
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOVE_MOUNT_T_EMPTY_PATH = 0x40
MOUNT_ATTR = {linux.MS_RDONLY: 0x1, linux.MS_NOSUID: 0x2, linux.MS_NODEV: 0x4,
              linux.MS_NOEXEC: 0x8}


class MountError(RuntimeFailure):
    pass


def parse_options(options: list[str]) -> tuple[int, str]:
    """Spec mount options -> (MS_* flags, comma-joined data for the filesystem)."""
    flags, data = 0, []
    for option in options:
        if option in _FLAGS:
            bit, on = _FLAGS[option]
            flags = flags | bit if on else flags & ~bit
        elif option not in _PROPAGATION:
            data.append(option)
    return flags, ",".join(data)


def open_mountpoint(rootfs: str, destination: str, directory: bool) -> int:
    """An O_PATH fd naming the destination inside rootfs (mount on it as
    /proc/self/fd/N), created (a directory or an empty file) without
    following symlinks."""
    parts = split_member_path(destination)
    with Beneath(rootfs) as beneath, beneath.parent_of(parts) as parent:
        name = parts[-1]
        info = lstat_at(parent, name)
        if info is not None and stat.S_ISLNK(info.st_mode):
            os.unlink(name, dir_fd=parent)  # mount on the container's own path, not the link's
            info = None
        if info is None:
            if directory:
                os.mkdir(name, 0o755, dir_fd=parent)
            else:
                os.close(os.open(name, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o644,
                                 dir_fd=parent))
        return os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)


def mount_one(rootfs: str, entry: dict) -> None:
    kind = entry.get("type") or ""
    flags, data = parse_options(list(entry.get("options") or []))
    source = entry.get("source") or kind
    is_bind = kind == "bind" or flags & linux.MS_BIND
    directory = not is_bind or os.path.isdir(source)
    if is_bind and not os.path.exists(source):
        raise MountError(f"bind source {source!r} does not exist")
    try:
        fd = open_mountpoint(rootfs, entry["destination"], directory)
        try:
            if is_bind:
                _bind(source, fd, flags)
            else:
                _mount_filesystem(source, f"/proc/self/fd/{fd}", kind, flags, data)
        finally:
            os.close(fd)
    except UnsafeEntry as err:
        raise MountError(f"mount destination {entry['destination']!r}: {err}") from None
    except OSError as err:
        raise MountError(f"cannot mount {entry['destination']}: {describe(err)}") from None


def _bind(source: str, target_fd: int, flags: int) -> None:
    try:
        _bind_new_api(source, target_fd, flags)
        return
    except OSError as err:
        if err.errno != errno.ENOSYS:
            raise
    # before Linux 5.12: bind, then remount the new mount, named by a
    # descriptor opened after the bind (one opened before names what it covers)
    target = f"/proc/self/fd/{target_fd}"
    linux.mount(source, target, None, linux.MS_BIND | (flags & linux.MS_REC))
    if flags & ~(linux.MS_BIND | linux.MS_REC):
        mounted = os.open(target, os.O_PATH | os.O_CLOEXEC)
        try:
            linux.mount(None, f"/proc/self/fd/{mounted}", None,
                        (flags & ~linux.MS_REC) | linux.MS_REMOUNT | linux.MS_BIND)
        finally:
            os.close(mounted)


def _bind_new_api(source: str, target_fd: int, flags: int) -> None:
    """Bind source onto the directory or file open as target_fd (O_PATH)
    through the new mount API (Linux 5.12+): open_tree clones the source
    as a detached tree, mount_setattr sets the MS_RDONLY/NOSUID/NODEV/NOEXEC
    bits of flags on every mount of it at once (all of the tree with MS_REC,
    else its top only), private, and move_mount attaches it. The tree is
    never visible with the wrong flags, and a read-only volume is read-only
    in its submounts too, which a remount of the top mount alone is not."""
    recursive = AT_RECURSIVE if flags & linux.MS_REC else 0
    tree = linux.syscall(syscall_number("open_tree"), AT_FDCWD, os.fsencode(source),
                         OPEN_TREE_CLONE | os.O_CLOEXEC | recursive, what=f"open_tree {source}")
    try:
        attributes = 0
        for flag, attribute in MOUNT_ATTR.items():
            if flags & flag:
                attributes |= attribute
        request = bytearray(attributes.to_bytes(8, "little") + bytes(8)
                            + linux.MS_PRIVATE.to_bytes(8, "little") + bytes(8))
        linux.syscall(syscall_number("mount_setattr"), tree, b"", AT_EMPTY_PATH | recursive, request,
                      len(request), what="mount_setattr")
        linux.syscall(syscall_number("move_mount"), tree, b"", target_fd, b"",
                      MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH, what="move_mount")
    finally:
        os.close(tree)


def _mount_filesystem(source: str, target: str, kind: str, flags: int, data: str) -> None:
    try:
        linux.mount(source, target, kind, flags, data or None)
    except OSError as err:
        if kind == "devpts" and err.errno == errno.EINVAL and "gid=" in data:
            # rootless: group 5 (tty) is not mapped in our user namespace
            data = ",".join(o for o in data.split(",") if not o.startswith("gid="))
            linux.mount(source, target, kind, flags, data)
            return
        if kind != "sysfs" or err.errno != errno.EPERM:
            raise
        # without our own network namespace the kernel refuses a fresh sysfs; bind the host's
        linux.mount("/sys", target, None, linux.MS_BIND | linux.MS_REC)
        linux.mount(None, target, None, flags | linux.MS_REMOUNT | linux.MS_BIND)


def populate_dev(rootfs: str) -> None:
    """The standard nodes in /dev, each its own bind mount, then /dev itself
    nodev: a node made there later (with --cap-add MKNOD) opens nothing.
    With the root and volumes nodev too, no mount but these few and devpts
    lets a device node be opened."""
    dev = os.path.join(rootfs, "dev")
    for name, major, minor in DEVICES:
        path = os.path.join(dev, name)
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
            os.chmod(path, 0o666)
            linux.mount(path, path, None, linux.MS_BIND)  # keeps /dev's flags of now: dev
        except PermissionError:  # rootless: borrow the host's node
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o666))
            linux.mount(f"/dev/{name}", path, None, linux.MS_BIND)
    linux.mount(None, dev, None, linux.MS_REMOUNT | linux.MS_BIND | linux.MS_NODEV
                | linux.MS_NOSUID | linux.MS_STRICTATIME)
    for name, target in DEV_LINKS:
        try:
            os.symlink(target, os.path.join(dev, name))
        except FileExistsError:
            pass


def pivot_into(rootfs: str) -> None:
    """Make rootfs the root; the old root is detached, invisible from inside."""
    os.chdir(rootfs)
    linux.pivot_root(".", ".")
    linux.umount(".", linux.MNT_DETACH)
    os.chdir("/")


def mask_paths(masked: list[str], read_only: list[str]) -> None:
    for path in masked:
        try:
            if os.path.isdir(path):
                linux.mount("tmpfs", path, "tmpfs", linux.MS_RDONLY)
            else:
                linux.mount("/dev/null", path, None, linux.MS_BIND)
        except FileNotFoundError:
            pass
    for path in read_only:
        try:
            linux.mount(path, path, None, linux.MS_BIND | linux.MS_REC)
            linux.mount(None, path, None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY
                        | linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC)
        except FileNotFoundError:
            pass


def pin_paths(spec: dict, rootfs: str) -> tuple[dict, str]:
    """The spec with each bind source, and the rootfs, as /proc/self/fd/N
    of an O_PATH descriptor opened now: resolving those later walks no
    directory on the way, whoever we have become by then."""
    def pinned(path: str) -> str:
        return f"/proc/self/fd/{os.open(path, os.O_PATH | os.O_CLOEXEC)}"
    entries = []
    for entry in spec.get("mounts") or []:
        if entry.get("type") == "bind" and os.path.exists(entry.get("source") or ""):
            entry = dict(entry, source=pinned(entry["source"]))
        entries.append(entry)
    # "/.": the magic link is then a step of the path, not its last part,
    # which Beneath opens without following
    return dict(spec, mounts=entries), pinned(rootfs) + "/."


def setup_filesystem(spec: dict, rootfs: str) -> None:
    """Everything from spec mounts to the read-only root, in the container's
    mount namespace, with rootfs already mounted. /dev's nodes go into our
    own tmpfs as soon as it is there, before any volume is mounted."""
    populated = False
    for entry in spec.get("mounts") or []:
        mount_one(rootfs, entry)
        if entry.get("destination") == "/dev" and not populated:
            populate_dev(rootfs)
            populated = True
    if not populated:
        populate_dev(rootfs)
    pivot_into(rootfs)
    linux_section = spec.get("linux") or {}
    mask_paths(linux_section.get("maskedPaths") or [], linux_section.get("readonlyPaths") or [])
    if (spec.get("root") or {}).get("readonly"):
        linux.mount(None, "/", None, linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY)
