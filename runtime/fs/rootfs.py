"""A container's root filesystem from the image's snapshots: an overlayfs
mount with the snapshots as lower layers and a per-container upper layer, or,
where overlayfs is unavailable or the layers do not fit its option string, a
flattened copy that applies the whiteouts itself.
"""
from __future__ import annotations

import errno
import os
import stat

from ..kernel import linux
from ..record import REQUIRED, Record
from .beneath import Beneath, UnsafeEntry, clear_directory, lstat_at, remove_at, split_member_path
from .whiteout import OPAQUE_XATTR, ROOTLESS_OPAQUE_XATTR, is_whiteout

MAX_MOUNT_DATA = 4000  # the kernel copies at most one page of mount options


class RootfsPlan(Record):
    FIELDS = {
        "kind": REQUIRED,  # "overlay" or "copy"
        "target": REQUIRED,  # the mountpoint (overlay) or the copied tree
        "lowers": (),  # snapshot paths, bottom layer first
        "upper": "",
        "work": "",
        "rootless": False,  # made by a non-root user: overlayfs reads user.* xattrs
        # --rm: the upper layer dies with the container, so overlayfs need not
        # sync it (a journal commit at every teardown) nor honour fsync in it
        "volatile": False,
    }

    def to_json(self) -> dict:
        return {"kind": self.kind, "target": self.target, "lowers": list(self.lowers),
                "upper": self.upper, "work": self.work, "rootless": self.rootless,
                "volatile": self.volatile}

    @classmethod
    def from_json(cls, data: dict) -> "RootfsPlan":
        return cls(data["kind"], data["target"], tuple(data.get("lowers") or ()),
                   data.get("upper", ""), data.get("work", ""), bool(data.get("rootless")),
                   bool(data.get("volatile")))


def overlay_supported() -> bool:
    try:
        with open("/proc/filesystems") as handle:
            return any(line.split()[-1:] == ["overlay"] for line in handle)
    except OSError:
        return False


def overlay_options(plan: RootfsPlan) -> tuple[str, str]:
    """(directory to chdir into, mount data) with short relative lower paths:
    the whole option string must fit in one page."""
    base = os.path.dirname(plan.lowers[0])
    lowers = ":".join(os.path.relpath(p, base) for p in reversed(plan.lowers))
    data = (f"lowerdir={lowers},upperdir={os.path.relpath(plan.upper, base)},"
            f"workdir={os.path.relpath(plan.work, base)}")
    if plan.rootless:
        data += ",userxattr"  # rootless: whiteout marks are user.overlay.* xattrs
    if plan.volatile:
        data += ",volatile"
    return base, data


def plan_rootfs(container_dir: str, snapshots: list[str], throwaway: bool = False,
                copy: bool = False) -> RootfsPlan:
    """throwaway: the container is removed when it exits (--rm); copy: a
    flattened copy even where overlayfs would do."""
    target = os.path.join(container_dir, "rootfs")
    same_parent = len({os.path.dirname(p) for p in snapshots}) == 1
    if snapshots and same_parent and not copy and overlay_supported():
        plan = RootfsPlan("overlay", target, tuple(snapshots), os.path.join(container_dir, "upper"),
                          os.path.join(container_dir, "work"), os.geteuid() != 0, throwaway)
        if len(overlay_options(plan)[1]) <= MAX_MOUNT_DATA:
            return plan
    return RootfsPlan("copy", target, tuple(snapshots), rootless=os.geteuid() != 0)


def prepare_rootfs(plan: RootfsPlan) -> None:
    """Create the directories; for the copy fallback, copy the layers now."""
    os.makedirs(plan.target, exist_ok=True)
    if plan.kind == "overlay":
        os.makedirs(plan.upper, exist_ok=True)
        os.makedirs(plan.work, exist_ok=True)
    else:
        flatten(list(plan.lowers), plan.target)


def seed_upper(plan: RootfsPlan, files: dict[str, str]) -> bool:
    """Write files (absolute container path -> text, all in one directory)
    into a fresh overlay's upper layer, so the container sees them over the
    image's without a bind mount. Only where the image's directory is a
    real directory: an upper directory would hide a symlink or whiteout
    there differently from a mount. False: nothing written, mount them."""
    directories = {path.rsplit("/", 1)[0] for path in files}
    if plan.kind != "overlay" or len(directories) != 1:
        return False
    parts = split_member_path(directories.pop())
    if len(parts) != 1:
        return False
    lower = _top_lower_entry(plan.lowers, parts[0])
    if lower is None or not stat.S_ISDIR(lower.st_mode):
        return False
    upper = os.path.join(plan.upper, parts[0])
    os.mkdir(upper, stat.S_IMODE(lower.st_mode))  # the merged directory shows upper's attributes
    if os.geteuid() == 0:
        os.chown(upper, lower.st_uid, lower.st_gid)
    for path, text in files.items():
        fd = os.open(os.path.join(upper, path.rsplit("/", 1)[1]),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with open(fd, "w", closefd=True) as handle:
            handle.write(text)
    os.chmod(upper, stat.S_IMODE(lower.st_mode))  # mkdir applied the umask
    os.utime(upper, ns=(lower.st_atime_ns, lower.st_mtime_ns))
    return True


def _top_lower_entry(lowers: tuple[str, ...], name: str) -> os.stat_result | None:
    """lstat of name in the topmost snapshot that has it (whatever it is)."""
    for snapshot in reversed(lowers):
        try:
            return os.lstat(os.path.join(snapshot, name))
        except FileNotFoundError:
            continue
    return None


def mount_rootfs(plan: RootfsPlan) -> None:
    """Mount the overlay at plan.target (in the caller's mount namespace),
    nodev: a device node in the image or made by the container opens
    nothing; only /dev's own nodes do."""
    if plan.kind != "overlay":
        linux.mount(plan.target, plan.target, None, linux.MS_BIND | linux.MS_REC)
        linux.mount(None, plan.target, None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_NODEV)
        return
    base, data = overlay_options(plan)
    previous = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.chdir(base)
        try:
            linux.mount("overlay", plan.target, "overlay", linux.MS_NODEV, data)
        except OSError as err:
            if not plan.volatile or err.errno != errno.EINVAL:
                raise
            # a kernel before 5.10 does not know `volatile`: mount without it
            linux.mount("overlay", plan.target, "overlay", linux.MS_NODEV, overlay_options(
                plan.replace(volatile=False))[1])
    finally:
        os.fchdir(previous)
        os.close(previous)


def flatten(snapshots: list[str], target: str) -> None:
    """Copy snapshots bottom-up into target, honouring whiteouts and opaque dirs."""
    with Beneath(target) as destination:
        for snapshot in snapshots:
            source = os.open(snapshot, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                _merge(source, destination.fd)
            finally:
                os.close(source)


def _merge(source: int, destination: int) -> None:
    for entry in os.scandir(source):
        info = entry.stat(follow_symlinks=False)
        name = entry.name
        if is_whiteout(info):
            remove_at(destination, name)
        elif stat.S_ISDIR(info.st_mode):
            _merge_directory(source, destination, name, info)
        else:
            remove_at(destination, name)
            _copy_entry(source, destination, name, info)


def _merge_directory(source: int, destination: int, name: str, info: os.stat_result) -> None:
    existing = lstat_at(destination, name)
    if existing is not None and not stat.S_ISDIR(existing.st_mode):
        remove_at(destination, name)
        existing = None
    if existing is None:
        os.mkdir(name, 0o700, dir_fd=destination)
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    child_source = os.open(name, flags, dir_fd=source)
    child_destination = os.open(name, flags, dir_fd=destination)
    try:
        if _is_opaque(child_source):
            clear_directory(child_destination)
        _merge(child_source, child_destination)
        _copy_metadata(child_destination, info)
    finally:
        os.close(child_source)
        os.close(child_destination)


def _is_opaque(fd: int) -> bool:
    for name in (OPAQUE_XATTR, ROOTLESS_OPAQUE_XATTR):
        try:
            if os.getxattr(fd, name) == b"y":
                return True
        except OSError:
            continue
    return False


def _copy_entry(source: int, destination: int, name: str, info: os.stat_result) -> None:
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        os.symlink(os.readlink(name, dir_fd=source), name, dir_fd=destination)
    elif stat.S_ISREG(mode):
        _copy_file(source, destination, name, info)
        return
    elif stat.S_ISFIFO(mode):
        os.mkfifo(name, stat.S_IMODE(mode), dir_fd=destination)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        os.mknod(name, mode, info.st_rdev, dir_fd=destination)
    else:
        return  # sockets are not content
    if os.geteuid() == 0:
        os.chown(name, info.st_uid, info.st_gid, dir_fd=destination, follow_symlinks=False)
    os.utime(name, ns=(info.st_atime_ns, info.st_mtime_ns), dir_fd=destination,
             follow_symlinks=False)


def _copy_file(source: int, destination: int, name: str, info: os.stat_result) -> None:
    reader = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=source)
    writer = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                     dir_fd=destination)
    try:
        remaining = info.st_size
        while remaining > 0:
            copied = os.copy_file_range(reader, writer, min(remaining, 1 << 30))
            if copied == 0:
                break
            remaining -= copied
        _copy_metadata(writer, info)
    finally:
        os.close(reader)
        os.close(writer)


def _copy_metadata(fd: int, info: os.stat_result) -> None:
    if os.geteuid() == 0:
        os.chown(fd, info.st_uid, info.st_gid)
    os.chmod(fd, stat.S_IMODE(info.st_mode))
    os.utime(fd, ns=(info.st_atime_ns, info.st_mtime_ns))


def read_image_file(snapshots: list[str], path: str, limit: int = 1 << 20) -> str | None:
    """A small file from the image as the container would see it, without
    following any symlink (it could point at the host)."""
    parts = split_member_path(path)
    for snapshot in reversed(snapshots):
        try:
            with Beneath(snapshot) as beneath, beneath.parent_of(parts, create=False) as parent:
                info = lstat_at(parent, parts[-1])
                if info is None:
                    continue
                if not stat.S_ISREG(info.st_mode):
                    return None  # a whiteout, directory or symlink: not a usable file
                fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=parent)
                with os.fdopen(fd, "rb") as handle:
                    return handle.read(limit).decode(errors="replace")
        except (FileNotFoundError, NotADirectoryError, UnsafeEntry):
            continue
    return None
