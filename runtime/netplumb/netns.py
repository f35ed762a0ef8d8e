"""Network namespaces seen from the host: make one that a container will
join (bound on a file, as `ip netns add` does), open one by pid or path, and
reach into one for a moment. Only the calling thread switches namespaces
(setns and unshare of CLONE_NEWNET are per thread), so no child process is
forked for it and other threads never notice."""
from __future__ import annotations

import contextlib
import os

from ..errors import describe
from ..kernel import linux
from .errors import NetworkError

_OWN = "/proc/thread-self/ns/net"


@contextlib.contextmanager
def entered(netns_fd: int):
    """Run the block inside the namespace; back home afterwards, whatever
    happened (a thread left in the wrong namespace would be a disaster)."""
    home = os.open(_OWN, os.O_RDONLY | os.O_CLOEXEC)
    try:
        linux.setns(netns_fd, linux.CLONE_NEWNET)
        try:
            yield
        finally:
            linux.setns(home, linux.CLONE_NEWNET)
    finally:
        os.close(home)


def open_target(target: int | str) -> int:
    """An fd of a container's network namespace: target is the pid of a
    process inside it, or a namespace file."""
    path = f"/proc/{target}/ns/net" if isinstance(target, int) else target
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise NetworkError(f"cannot open network namespace {path}: {err.strerror}") from None


def create(path: str) -> None:
    """A new, empty network namespace kept alive by a bind mount on path."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444))
    home = os.open(_OWN, os.O_RDONLY | os.O_CLOEXEC)
    try:
        linux.unshare(linux.CLONE_NEWNET)
        try:
            linux.mount(_OWN, path, None, linux.MS_BIND)
        finally:
            linux.setns(home, linux.CLONE_NEWNET)
    except OSError as err:
        os.unlink(path)
        raise NetworkError(f"cannot create a network namespace: {describe(err)}") from None
    finally:
        os.close(home)


def remove(path: str) -> None:
    """Unmount and delete a namespace file; nothing to do if it is gone.
    The namespace itself ends when its last process does."""
    try:
        linux.umount(path, linux.MNT_DETACH)
    except OSError:
        pass  # not mounted (any more)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
