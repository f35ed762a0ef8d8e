"""The bridge network's stand-in without root, as podman's: the container
gets a network namespace of its own user namespace, and pasta (or
slirp4netns) attached to it carries its outbound traffic and its published
ports (netplumb.rootless).

The supervisor makes both before the container's fork, once it entered its
user namespace (process.start's before_fork): the namespace held by a
forked holder process without capabilities (nothing leads back to the
host's namespace from inside a user namespace, so a thread of ours could
not make one and return; and pasta, which keeps only a few capabilities,
may open the namespaces only of a process with fewer), then the helper
attached to the holder's namespace file. Both carry a parent-death signal,
so a kill -9 of the supervisor ends them too.
"""
from __future__ import annotations

import os

import _signal  # not signal: its IntEnums cost a millisecond at import

from ..kernel import linux
from ..netplumb import rootless
from ..netplumb.errors import NetworkError


class RootlessAttachment:
    def __init__(self, bindings, workdir: str):
        self.bindings, self.workdir = tuple(bindings), workdir
        self.helper = rootless.find_helper()  # now: a missing helper stops the run before it starts
        self.holder, self.running = 0, None

    def before_fork(self, spec: dict) -> None:
        self.holder = _namespace_holder()
        path = f"/proc/{self.holder}/ns/net"
        for namespace in spec["linux"]["namespaces"]:
            if namespace["type"] == "network":
                namespace["path"] = path
        try:  # by path, not pid: a pid would have the helper join our own user namespace again
            self.running = rootless.start(path, self.bindings, self.workdir, self.helper)
        except BaseException:
            self.stop()
            raise

    def close_sockets(self) -> None:
        """The helper holds the host ports: nothing of ours to close."""

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
            self.running = None
        if self.holder:
            os.kill(self.holder, 9)  # SIGKILL: it ignores the signals the supervisor forwards
            os.waitpid(self.holder, 0)
            self.holder = 0


def _namespace_holder() -> int:
    """A child that unshares a network namespace and waits to be killed."""
    ready, signal_ready = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            _keep_only(signal_ready)  # the container's output pipes must see their end
            linux.prctl(linux.PR_SET_PDEATHSIG, 9)
            linux.unshare(linux.CLONE_NEWNET)
            # no capabilities: pasta, which keeps only a few, may open the
            # namespaces of a process whose capabilities are a subset of its own
            linux.capset(0, 0, 0)
            os.write(signal_ready, b"1")
            os.close(signal_ready)
            while True:
                _signal.pause()
        finally:
            os._exit(1)
    os.close(signal_ready)
    answer = os.read(ready, 1)
    os.close(ready)
    if answer != b"1":
        os.waitpid(pid, 0)
        raise NetworkError("cannot make a network namespace for the rootless network")
    return pid


def _keep_only(fd: int) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(null, target)
    os.closerange(3, fd)
    os.closerange(fd + 1, 1 << 16)
