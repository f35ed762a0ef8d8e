"""Networking without root, as podman does it: a user-mode network helper,
pasta (Debian's passt) or slirp4netns, attached to the container's
namespace, forwards published ports from the host and carries outbound
traffic. Neither needs privileges beyond the container's own user namespace.

Whoever starts the helper (the supervisor) holds it: pasta gets the parent
death signal, slirp4netns an exit pipe, so a kill -9 of the supervisor ends
the helper too and no process is left behind.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import time

from ..kernel import linux
from ..record import REQUIRED, Record
from .errors import NetworkError
from .records import PortBinding

HELPERS = {"pasta": "passt", "slirp4netns": "slirp4netns"}  # binary -> Debian package
READY_TIMEOUT = 10.0
SLIRP_MTU = 65520  # slirp4netns' recommended MTU: fewer, larger segments through user space


class Helper(Record):
    FIELDS = {"name": REQUIRED, "path": REQUIRED}


class RootlessNetwork(Record):
    """A running helper; stop() ends it and removes its files."""
    FIELDS = {"helper": REQUIRED, "process": REQUIRED, "exit_fd": -1, "files": ()}

    def stop(self) -> None:
        self._end_process()
        for path in self.files:
            if os.path.exists(path):
                os.unlink(path)

    def _end_process(self) -> None:
        if self.exit_fd >= 0:
            os.close(self.exit_fd)
            self.exit_fd = -1
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=READY_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def find_helper(which=shutil.which) -> Helper:
    for name in HELPERS:
        path = which(name)
        if path:
            return Helper(name, path)
    raise NetworkError("rootless networking needs pasta or slirp4netns: install one "
                       "(apt-get install passt, or apt-get install slirp4netns)")


def _target_args(target: int | str) -> tuple[list[str], str]:
    """(options, positional) naming the container's namespace: its pid,
    or a namespace file."""
    return ([], str(target)) if isinstance(target, int) else (["--netns-type=path"], target)


def pasta_args(path: str, target: int | str, bindings, pidfile: str) -> list[str]:
    # --runas ourselves: started as root (of a rootless container's user
    # namespace), pasta would switch to nobody, who may not enter the container
    args = [path, "--config-net", "--foreground", "--quiet", "--no-map-gw", "-T", "none", "-U", "none",
            "-P", pidfile, "--runas", f"{os.geteuid()}:{os.getegid()}"]
    for proto, flag in (("tcp", "-t"), ("udp", "-u")):
        specs = [f"{b.host_ip + '/' if b.host_ip else ''}{b.host_port}:{b.container_port}"
                 for b in bindings if b.proto == proto]
        args += [flag, ",".join(specs) or "none"]
    return args + (["--netns", target] if isinstance(target, str) else [str(target)])


def slirp_args(path: str, target: int | str, api_socket: str, ready_fd: int, exit_fd: int) -> list[str]:
    options, positional = _target_args(target)
    return [path, "--configure", f"--mtu={SLIRP_MTU}", "--disable-host-loopback",
            f"--api-socket={api_socket}", f"--ready-fd={ready_fd}", f"--exit-fd={exit_fd}",
            *options, positional, "tap0"]


def start(target: int | str, bindings=(), workdir: str = "/tmp", helper: Helper | None = None) -> RootlessNetwork:
    """Attach a helper to the container's namespace with the ports
    forwarded; returns once it is ready, or raises NetworkError."""
    helper = helper or find_helper()
    if helper.name == "pasta":
        return _start_pasta(helper, target, list(bindings), workdir)
    return _start_slirp(helper, target, list(bindings), workdir)


def _start_pasta(helper: Helper, target, bindings: list[PortBinding], workdir: str) -> RootlessNetwork:
    pidfile = os.path.join(workdir, f"pasta.{os.getpid()}.{time.monotonic_ns()}.pid")
    process = subprocess.Popen(pasta_args(helper.path, target, bindings, pidfile),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
    network = RootlessNetwork(helper, process, files=(pidfile,))
    deadline = time.monotonic() + READY_TIMEOUT
    try:
        while not os.path.exists(pidfile):  # pasta writes it once it is set up
            if process.poll() is not None or time.monotonic() > deadline:
                raise NetworkError(f"pasta failed: {_helper_error(process)}")
            time.sleep(0.01)
    except BaseException:
        network.stop()
        raise
    return network


def _die_with_parent() -> None:
    linux.prctl(linux.PR_SET_PDEATHSIG, 9)


def _helper_error(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.kill()
    stderr = process.communicate()[1].decode(errors="replace")
    lines = [line for line in stderr.splitlines() if line.strip() and "syslog" not in line]
    return lines[-1] if lines else f"exit status {process.returncode}"


def _start_slirp(helper: Helper, target, bindings: list[PortBinding], workdir: str) -> RootlessNetwork:
    api_socket = os.path.join(workdir, f"slirp4netns.{os.getpid()}.{time.monotonic_ns()}.sock")
    ready_read, ready_write = os.pipe()
    exit_read, exit_write = os.pipe2(os.O_CLOEXEC)  # the helper exits when exit_write closes
    try:
        process = subprocess.Popen(slirp_args(helper.path, target, api_socket, ready_write, exit_read),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, pass_fds=(ready_write, exit_read))
    finally:
        os.close(ready_write)
        os.close(exit_read)
    network = RootlessNetwork(helper, process, exit_write, files=(api_socket,))
    try:
        ready, _, _ = select.select([ready_read], [], [], READY_TIMEOUT)
        if not ready or os.read(ready_read, 1) != b"1":
            raise NetworkError(f"slirp4netns failed: {_helper_error(process)}")
        for binding in bindings:
            _slirp_forward(api_socket, binding)
    except BaseException:
        network.stop()
        raise
    finally:
        os.close(ready_read)
    return network


def _slirp_forward(api_socket: str, binding: PortBinding) -> None:
    request = {"execute": "add_hostfwd", "arguments": {
        "proto": binding.proto, "host_addr": binding.host_ip or "0.0.0.0",
        "host_port": binding.host_port, "guest_port": binding.container_port}}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as api:
        api.settimeout(READY_TIMEOUT)
        api.connect(api_socket)
        api.sendall(json.dumps(request).encode())
        api.shutdown(socket.SHUT_WR)
        answer = json.loads(api.makefile("rb").read() or b"{}")
    if "error" in answer or "return" not in answer:
        message = answer.get("error", {}).get("desc", "no answer")
        raise NetworkError(f"slirp4netns cannot forward {binding.describe()}: {message}")
