"""`pyreg exec`: run another process inside a running container, with the
container's own environment, user and capabilities from its config.json,
overridden by the exec options; its runtime joins it (pyreg's own: setns
into its namespaces and cgroups, inside/process.join).
"""
from __future__ import annotations

from .. import fastjson, paths
from ..fs.rootfs import read_image_file
from ..inside import signals
from ..inside.process import Stdio
from ..record import REQUIRED, Record
from ..runspec.build import merge_env
from ..runspec.users import require_mapped, resolve_user
from . import runtimes
from .state import Container, ContainerError, ContainerStore


class ExecOptions(Record):
    FIELDS = {"args": REQUIRED, "env": (), "workdir": None, "user": None,
              "tty": False, "interactive": False}  # -t: through a pty (terminal.py); -i with it


def exec_process(store: ContainerStore, container: Container, options: ExecOptions,
                 stdio: Stdio, debug: bool = False) -> int:
    """Run the command in container; its exit code."""
    runtime = runtimes.of(container, debug)
    if not container.is_alive():
        raise ContainerError(f"container {container.name} is not running")
    spec = fastjson.load_file(paths.container_file(store.root, container.id, paths.SPEC))
    process = _process_for(spec["process"], options, container)
    if options.tty:
        from .terminal import relay_terminal
        process["terminal"] = True
        process["env"] = merge_env(process["env"], (), {"TERM": "xterm"})
        return relay_terminal(lambda tty_stdio: runtime.exec(store.root, container, spec, process,
                                                             tty_stdio), options.interactive)
    pid = runtime.exec(store.root, container, spec, process, stdio)
    return signals.wait_exit_code(pid)


def _process_for(process: dict, options: ExecOptions, container: Container) -> dict:
    process = dict(process, args=list(options.args),
                   env=merge_env(process.get("env") or [], options.env, {}))
    if options.workdir:
        process["cwd"] = options.workdir
    if options.user is not None:
        process["user"] = _exec_user(options.user, container)
    return process


def _exec_user(text: str, container: Container) -> dict:
    lowers = list((container.rootfs or {}).get("lowers", []))
    user = resolve_user(text, lambda path: read_image_file(lowers, path))
    require_mapped(user.uid, user.gid, user.additional_gids,
                   rootless=bool((container.rootfs or {}).get("rootless")))
    return {"uid": user.uid, "gid": user.gid, "additionalGids": list(user.additional_gids)}
