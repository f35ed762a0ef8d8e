"""From an image name to a running container and back to its exit code:
prepare (snapshots, rootfs, /etc files, config.json, what the runtime makes
before a start) then supervise (start, wait, record the exit, clean up).
The command line calls these; so does the detached shim, which is the same
code in a forked process.
"""
from __future__ import annotations

import os

import _signal  # not signal: its IntEnums cost a millisecond at import

from .. import fastjson, paths
from ..errors import exit_code_of
from ..fs.rootfs import plan_rootfs, prepare_rootfs, read_image_file, seed_upper
from ..image.cache import ResolvedImage, find_image
from ..inside import signals
from ..inside.process import Stdio
from ..record import REQUIRED, Record
from ..runspec.build import RunOptions, build_spec
from ..runspec.users import require_mapped, resolve_user
from . import networking
from .runtimes import Runtime
from .state import ContainerError, ContainerStore, Status


class HostOptions(Record):
    """How pyreg keeps a container, beside what the container is (RunOptions)."""
    FIELDS = {
        "name": None,  # None: a generated one
        "auto_remove": False,  # --rm
        "detached": False,  # -d
        "log_max_size": None, "log_max_files": None,  # the kept output's; None: logfile's defaults
        "copy_rootfs": False,  # PYREG_ROOTFS=copy: a flattened copy even where overlayfs works
        "pull": None,  # called when the local store lacks the image; None: fail
        # False (a build's RUN step): /etc/hosts, hostname and resolv.conf are
        # bind-mounted, never written into the upper layer, which then holds
        # the command's own changes only
        "seed_etc": True,
        "init": False,  # --init: kept in the record for `pyreg start`
        "restart_policy": "no",  # --restart, as its text (restarts.RestartPolicy)
        "network": None,  # networking.Request: -p, --network NAME, --dns...; None: none of them
    }


class Prepared(Record):
    FIELDS = {"store": REQUIRED, "container": REQUIRED, "spec": REQUIRED, "plan": REQUIRED,
              "runtime": REQUIRED, "confinement": None,
              "attachment": None}  # a bridge network's (netplumb.attach.Attachment)

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


def etc_files(directory: str, plan, hostname: str, network: str, seed: bool = True,
              overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Put the /etc files in place: into the overlay's upper layer when it
    can take them and `seed` allows (no mount to make, and none to tear
    down); else into the container's directory, returning container path ->
    host file for the spec to bind-mount."""
    files = {**etc_contents(hostname, network), **(overrides or {})}
    if seed and seed_upper(plan, files):
        return {}
    out = {}
    for path, text in files.items():
        host_path = os.path.join(directory, path.rsplit("/", 1)[1])
        with open(host_path, "w") as handle:
            handle.write(text)
        out[path] = host_path
    return out


def prepare(root: str, image_name: str, options: RunOptions, runtime: Runtime,
            host: HostOptions = HostOptions()) -> Prepared:
    return prepare_image(root, find_image(root, image_name, host.pull), options, runtime, host)


def prepare_image(root: str, image: ResolvedImage, options: RunOptions, runtime: Runtime,
                  host: HostOptions = HostOptions()) -> Prepared:
    """prepare() for an image already resolved to its snapshots: what
    `pyreg build` runs a RUN step on (a stage's layers, not a stored image)."""
    store = ContainerStore(root)
    container = store.create(image.reference, [], host.name, auto_remove=host.auto_remove,
                             detached=host.detached, runtime=runtime.name,
                             log_max_size=host.log_max_size, log_max_files=host.log_max_files,
                             init=host.init, restart_policy=host.restart_policy)
    attachment = None
    try:
        if options.userns is not None:  # a range of ids of its own, and a copy of the image it owns
            from .idmap import map_ids, own_rootfs
            options = map_ids(store, container, options)
        plan = plan_rootfs(store.path(container.id), image.snapshots, throwaway=host.auto_remove,
                           copy=host.copy_rootfs or options.id_mapping is not None)
        prepare_rootfs(plan)
        if options.id_mapping is not None:
            own_rootfs(plan, options.id_mapping)
        spec = _write_spec(root, container.id, image, plan, options, host)
        confinement = runtime.prepare(root, container, spec)
        if networking.is_bridge(options.network):
            attachment = networking.connect(root, container, host.network or networking.Request(
                network=options.network), spec, image.config)
        container.command, container.rootfs = spec["process"]["args"], plan.to_json()
        if not host.auto_remove:
            store.save(container)  # a --rm container shows up once it runs: one write less
    except BaseException:
        if attachment is not None:
            networking.release(root, attachment, container.id)
        store.remove(container)
        raise
    return Prepared(store, container, spec, plan, runtime, confinement, attachment)


def _write_spec(root: str, container_id: str, image, plan, options: RunOptions, host: HostOptions) -> dict:
    hostname = options.hostname or container_id[:12]
    user = resolve_user(options.user or image.config.get("User") or "",
                        lambda path: read_image_file(image.snapshots, path))
    require_mapped(user.uid, user.gid, user.additional_gids, rootless=os.geteuid() != 0)
    # a bridge's /etc/hosts is bind-mounted: connect rewrites it as peers come and go
    bridge = networking.is_bridge(options.network)
    files = etc_files(paths.container(root, container_id), plan, hostname, options.network,
                      host.seed_etc and not bridge, networking.etc_overrides(host.network, hostname))
    options = options.replace(hostname=hostname, etc_files=files,
                              netns=networking.netns_file(root, container_id) if bridge else "")
    if options.named_volumes:  # made, and filled from the image, before the spec names them
        from ..volumes.attach import attach_volumes
        options = attach_volumes(root, image.snapshots, options)
    spec = build_spec(image.config, options, user)
    with open(paths.container_file(root, container_id, paths.SPEC), "w") as handle:
        handle.write(fastjson.dumps(spec))
    return spec


class SignalForwarder:
    """Passes our signals on to the container. Installed before the start, so
    a signal arriving while the container starts is held, then delivered."""

    def __init__(self):
        self.owner = os.getpid()
        self.pid = 0
        self.pending: list[int] = []
        self.previous = {s: _signal.signal(s, self._handle) for s in signals.FORWARDED}

    def _handle(self, signum: int, _frame) -> None:
        if os.getpid() != self.owner:
            return  # in the forked child before its exec: the parent forwards it
        if self.pid:
            signals.forward(self.pid, signum)
        else:
            self.pending.append(signum)

    def started(self, pid: int) -> None:
        self.pid = pid
        for signum in self.pending:
            signals.forward(pid, signum)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            _signal.signal(signum, handler)


def supervise(prepared: Prepared, stdio: Stdio, init: bool = False,
              on_started=lambda container: None, wait=None) -> int:
    """Start the container, wait for it (with `wait(pid)`, by default a plain
    waitpid), record how it ended; return its exit code."""
    container, runtime = prepared.container, prepared.runtime
    forwarder = SignalForwarder()

    def record_running(pid: int) -> None:
        # Written before the exec is confirmed: `ps` trusts a pid only while
        # /proc shows it alive, and a failed start is recorded by finish().
        container.mark_running(pid)
        prepared.store.save(container)
    try:
        pid = runtime.start(prepared, stdio, init, record_running)
    except BaseException as err:
        forwarder.restore()
        runtime.clean_up(container)
        finish(prepared, exit_code_of(err))
        raise
    forwarder.started(pid)
    on_started(container)
    try:
        code = (wait or signals.wait_exit_code)(pid)
    finally:
        forwarder.restore()
        runtime.clean_up(container)
    finish(prepared, code)
    return code


def finish(prepared: Prepared, code: int) -> None:
    """Release the network (before the exit is recorded: `stop` and `rm`
    return once it is), record the exit; with --rm, delete everything."""
    try:
        if prepared.attachment is not None:
            networking.release(prepared.store.root, prepared.attachment, prepared.container.id)
    finally:
        _record_exit(prepared, code)


def _record_exit(prepared: Prepared, code: int) -> None:
    store, container = prepared.store, prepared.container
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
