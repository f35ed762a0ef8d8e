"""From an image name to a running container and back to its exit code:
prepare (snapshots, rootfs, /etc files, config.json, cgroups) then supervise
(start, wait, record the exit, clean up). The command line calls these; so
does the detached shim, which is the same code in a forked process.
"""
from __future__ import annotations

import os
import time

import _signal  # not signal: its IntEnums cost a millisecond at import

from .. import fastjson
from ..fs.rootfs import plan_rootfs, prepare_rootfs, read_image_file, seed_upper
from ..image import cache
from ..inside import process
from ..record import REQUIRED, Record
from ..spec.build import RunOptions, build_spec
from ..spec.users import require_mapped, resolve_user
from .state import ContainerError, ContainerStore, Status

FORWARDED_SIGNALS = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT,
                     _signal.SIGUSR1, _signal.SIGUSR2, _signal.SIGWINCH)


class Prepared(Record):
    FIELDS = {"store": REQUIRED, "container": REQUIRED, "spec": REQUIRED, "plan": REQUIRED,
              "cgroups": None, "confinement": None}

    @property
    def directory(self) -> str:
        return self.store.path(self.container.id)


def etc_contents(hostname: str, network: str) -> dict[str, str]:
    """/etc/hosts, /etc/hostname and /etc/resolv.conf for the container."""
    hosts = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
             f"127.0.1.1\t{hostname}\n")
    resolv = ""
    if network == "host":
        try:
            with open("/etc/resolv.conf") as handle:
                resolv = handle.read()
        except OSError:
            pass
    return {"/etc/hosts": hosts, "/etc/hostname": hostname + "\n", "/etc/resolv.conf": resolv}


def etc_files(directory: str, plan, hostname: str, network: str) -> dict[str, str]:
    """Put the /etc files in place: into the overlay's upper layer when it
    can take them (no mount to make, and none to tear down); else into the
    container's directory, returning container path -> host file for the
    spec to bind-mount."""
    files = etc_contents(hostname, network)
    if seed_upper(plan, files):
        return {}
    out = {}
    for path, text in files.items():
        host_path = os.path.join(directory, path.rsplit("/", 1)[1])
        with open(host_path, "w") as handle:
            handle.write(text)
        out[path] = host_path
    return out


def prepare(root: str, image_name: str, options: RunOptions, name: str | None = None,
            auto_remove: bool = False, detached: bool = False, runtime: str = "pyreg",
            log: tuple[int | None, int | None] = (None, None)) -> Prepared:
    """log: the kept output's max-size and max-file (None: the defaults)."""
    image = cache.resolve(root, image_name)
    snapshots = image.snapshots
    store = ContainerStore(root)
    container = store.create(image.reference, [], name, auto_remove=auto_remove,
                             detached=detached, runtime=runtime, log_max_size=log[0],
                             log_max_files=log[1])
    try:
        directory = store.path(container.id)
        plan = plan_rootfs(directory, snapshots, throwaway=auto_remove)
        prepare_rootfs(plan)
        hostname = options.hostname or container.id[:12]
        user = resolve_user(options.user or image.config.get("User") or "",
                            lambda path: read_image_file(snapshots, path))
        require_mapped(user.uid, user.gid, user.additional_gids, rootless=os.geteuid() != 0)
        options = options.replace(hostname=hostname, etc_files=etc_files(
            directory, plan, hostname, options.network))
        spec = build_spec(image.config, options, user)
        with open(os.path.join(directory, "config.json"), "w") as handle:
            handle.write(fastjson.dumps(spec))
        cgroups, confinement = None, None
        resources = spec["linux"]["resources"]
        if runtime == "pyreg":
            confinement = confinement_for(root, spec)
            if set(resources) & {"memory", "cpu", "pids"}:  # no limit: no cgroup to make and remove
                cgroups = _make_cgroups(container.id, resources)
                container.cgroups = list(cgroups.paths)
        container.command, container.rootfs = spec["process"]["args"], plan.to_json()
        if not auto_remove:
            store.save(container)  # a --rm container shows up once it runs: one write less
    except BaseException:
        store.remove(container)
        raise
    return Prepared(store, container, spec, plan, cgroups, confinement)


def confinement_for(root: str, spec: dict) -> process.Confinement:
    """The device cgroup and seccomp program the spec asks for. Devices are
    kept out at mount level (mounts.populate_dev), which costs no cgroup
    join (about 15 ms here: a v1 migration waits for an RCU grace period);
    a container with CAP_SYS_ADMIN could mount a filesystem without nodev,
    so only it joins the device cgroup too."""
    from ..inside import devices, seccomp
    group = None
    if os.geteuid() == 0 and "CAP_SYS_ADMIN" in spec["process"]["capabilities"]["bounding"]:
        if not devices.controller_available():
            raise devices.DeviceError("CAP_SYS_ADMIN needs the cgroup v1 devices controller, "
                                      "which this host lacks: the container could open any device")
        group = devices.device_group(spec["linux"]["resources"]["devices"])
    section = spec["linux"].get("seccomp")
    program = seccomp.program(root, section) if section is not None else None
    return process.Confinement(group, program)


def _make_cgroups(container_id: str, resources: dict):
    from ..inside.cgroups import CgroupError, Cgroups
    if os.geteuid() != 0:
        raise CgroupError("--memory, --cpus and --pids-limit need root (rootless "
                          "containers get no cgroups)")
    cgroups = Cgroups.for_container(container_id)
    cgroups.create(resources)
    return cgroups


class SignalForwarder:
    """Passes our signals on to the container. Installed before the start, so
    a signal arriving while the container starts is held, then delivered."""

    def __init__(self):
        self.owner = os.getpid()
        self.pid = 0
        self.pending: list[int] = []
        self.previous = {s: _signal.signal(s, self._handle) for s in FORWARDED_SIGNALS}

    def _handle(self, signum: int, _frame) -> None:
        if os.getpid() != self.owner:
            return  # in the forked child before its exec: the parent forwards it
        if self.pid:
            _forward(self.pid, signum)
        else:
            self.pending.append(signum)

    def started(self, pid: int) -> None:
        self.pid = pid
        for signum in self.pending:
            _forward(pid, signum)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            _signal.signal(signum, handler)


def supervise(prepared: Prepared, stdio: process.Stdio, init: bool = False,
              on_started=lambda container: None, wait=None) -> int:
    """Start the container, wait for it (with `wait(pid)`, by default a plain
    waitpid), record how it ended; return its exit code."""
    container = prepared.container
    forwarder = SignalForwarder()

    def record_running(pid: int) -> None:
        # Written before the exec is confirmed: `ps` trusts a pid only while
        # /proc shows it alive, and a failed start is recorded by finish().
        container.mark_running(pid)
        prepared.store.save(container)
    try:
        pid = _start(prepared, stdio, init, record_running)
    except BaseException as err:
        forwarder.restore()
        code = err.exit_code if isinstance(err, process.StartError) else process.EXIT_SETUP_FAILED
        finish(prepared, code)
        raise
    forwarder.started(pid)
    on_started(container)
    try:
        code = (wait or wait_exit_code)(pid)
    finally:
        forwarder.restore()
        if prepared.container.runtime != "pyreg":
            release_delegated(prepared.container.runtime, prepared.container.id, prepared.plan.target)
    finish(prepared, code)
    return code


def release_delegated(runtime: str, container_id: str, rootfs: str) -> None:
    """What a runc or crun container leaves once its `run` process is gone:
    the runtime's own state and cgroups, then our rootfs mount."""
    from .bundle import delete_container
    delete_container(runtime, container_id)
    _unmount_quietly(rootfs)


def _start(prepared: Prepared, stdio: process.Stdio, init: bool, record_running) -> int:
    if prepared.container.runtime == "pyreg":
        return process.start(prepared.spec, prepared.plan, prepared.cgroups, stdio, init,
                             after_fork=record_running, confinement=prepared.confinement)
    from .bundle import start_with_runc
    pid = start_with_runc(prepared.container.runtime, prepared.directory, prepared.plan,
                          prepared.container.id, stdio)
    record_running(pid)
    return pid


def _forward(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def wait_exit_code(pid: int) -> int:
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return process.EXIT_SETUP_FAILED
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


def _unmount_quietly(target: str) -> None:
    from ..kernel import linux
    try:
        linux.umount(target, linux.MNT_DETACH)
    except OSError:
        pass


def finish(prepared: Prepared, code: int) -> None:
    """Record the exit; free the cgroups; with --rm, delete everything."""
    store, container = prepared.store, prepared.container
    if prepared.cgroups is not None:
        container.oom_killed = prepared.cgroups.oom_killed()
        _remove_cgroups(prepared.cgroups)
    if container.auto_remove:  # whatever `stop` or `rm -f` recorded meanwhile goes too
        if os.path.isdir(prepared.directory):
            store.remove(container)
        return
    try:
        container = store.load(container.id)  # `rm -f` may have removed it meanwhile
    except ContainerError:
        if not os.path.isdir(prepared.directory):
            return
        container = prepared.container  # never saved: it failed before running
    if container.status != Status.STOPPED:
        container.mark_stopped(code)
    container.oom_killed = prepared.container.oom_killed
    store.save(container)


def _remove_cgroups(cgroups) -> None:
    for _ in range(50):  # the namespace's last processes may still be exiting
        cgroups.remove()
        if not any(os.path.isdir(p) for p in cgroups.paths):
            return
        time.sleep(0.01)
