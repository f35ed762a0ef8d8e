"""Container verbs, docker-like: run, ps, logs, stop, kill, rm, exec, bundle.
Thin: parse arguments into typed options, call `runtime`, print. Only the
standard library and `runtime` load on this path (no aiohttp), so `pyreg run`
starts fast; a missing image is pulled through `puller`, imported on demand.
"""
from __future__ import annotations

import argparse
import os
import re
import sys

from pyreg_cli.main import CliError

EXIT_RUN_FAILED = 125
_HOSTNAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([bkmg]?)b?$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


class _Formatter(argparse.HelpFormatter):
    """A fixed help width: argparse makes a formatter for every option added,
    and the default one asks the terminal for its size each time (slow)."""

    def __init__(self, prog: str):
        super().__init__(prog, width=int(os.environ.get("COLUMNS") or 100))


def memory_size(text: str) -> int:
    match = _SIZE.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (e.g. 64m, 1g)")
    value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if value < 6 * 1024 * 1024:
        raise argparse.ArgumentTypeError("minimum memory limit allowed is 6MB")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def read_env_files(paths: list[str]) -> list[str]:
    out = []
    for path in paths:
        try:
            lines = open(path, encoding="utf-8").read().splitlines()
        except OSError as err:
            raise CliError(f"cannot read env file {path}: {err.strerror}") from None
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line if "=" in line else f"{line}={os.environ.get(line, '')}")
    return out


def expand_env(items: list[str]) -> list[str]:
    """`-e NAME` takes NAME from our environment, as docker does."""
    return [item if "=" in item else f"{item}={os.environ.get(item, '')}" for item in items]


def run_options(args):
    from runtime.spec import RunOptions, SpecError, Volume
    try:
        volumes = tuple(Volume.parse(v) for v in args.volume)
    except SpecError as err:
        raise CliError(str(err), EXIT_RUN_FAILED) from None
    for volume in volumes:
        if not os.path.exists(volume.host):
            raise CliError(f"volume source {volume.host} does not exist", EXIT_RUN_FAILED)
    if args.hostname and not _HOSTNAME.match(args.hostname):
        raise CliError(f"invalid hostname {args.hostname!r}: letters, digits, '.' and '-', "
                       "at most 63", EXIT_RUN_FAILED)
    entrypoint = None
    if args.entrypoint is not None:
        entrypoint = (args.entrypoint,) if args.entrypoint else ()
    return RunOptions(
        command=tuple(args.command), entrypoint=entrypoint,
        env=tuple(read_env_files(args.env_file) + expand_env(args.env)),
        workdir=args.workdir, user=args.user, hostname=args.hostname or "", volumes=volumes,
        read_only=args.read_only, network=args.network, memory=args.memory, cpus=args.cpus,
        pids_limit=args.pids_limit, tty=args.tty)


def runtime_errors():
    """The runtime's expected failures: each becomes one line, exit 125."""
    from runtime.errors import EXPECTED
    return EXPECTED


def describe(err: BaseException) -> str:
    from runtime.linux import describe as one_line
    return one_line(err)


def prepare_container(args, options):
    from runtime.imagecache import ImageNotFound
    from runtime.run import prepare
    try:
        return prepare(args.root, args.image, options, args.name, args.rm, args.detach, args.runtime)
    except ImageNotFound:
        if args.pull == "never":
            raise
    pull_image(args)
    return prepare(args.root, args.image, options, args.name, args.rm, args.detach, args.runtime)


def pull_image(args) -> None:
    try:
        from puller import operations as ops
        from puller.progress import make_progress
        from puller.store import LocalStore
        from pyreg_cli.images import run as run_with_transport
    except ImportError:
        raise CliError(f"image {args.image!r} not found locally", EXIT_RUN_FAILED) from None
    print(f"Unable to find image '{args.image}' locally", file=sys.stderr)
    pull_args = argparse.Namespace(root=args.root, insecure=False, ca_cert=None,
                                   debug=args.debug, quiet=False)
    progress = make_progress(False)
    run_with_transport(pull_args, lambda t: ops.pull(LocalStore(args.root), args.image, t,
                                                     ops.PullOptions(), progress))


def cmd_run(args) -> int:
    from runtime import process
    from runtime.run import supervise
    options = run_options(args)
    try:
        prepared = prepare_container(args, options)
        if args.detach:
            from runtime.shim import start_detached
            start_detached(prepared, args.init)
            print(prepared.container.id)
            return 0
        if args.tty:
            from runtime.terminal import run_with_terminal
            return run_with_terminal(prepared, args.interactive, args.init)
        stdin = 0 if args.interactive else os.open(os.devnull, os.O_RDONLY)
        return supervise(prepared, process.Stdio(stdin, 1, 2), args.init)
    except runtime_errors() as err:
        code = getattr(err, "exit_code", EXIT_RUN_FAILED)
        raise CliError(describe(err), code if code in (126, 127) else EXIT_RUN_FAILED) from None


def add_run_arguments(parser: argparse.ArgumentParser, for_run: bool = True) -> None:
    parser.add_argument("-e", "--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--env-file", action="append", default=[], metavar="FILE")
    parser.add_argument("-w", "--workdir", metavar="DIR")
    parser.add_argument("-u", "--user", metavar="USER[:GROUP]")
    parser.add_argument("--entrypoint", metavar="CMD")
    parser.add_argument("-v", "--volume", action="append", default=[], metavar="HOST:CTR[:ro]")
    parser.add_argument("--hostname", metavar="NAME")
    parser.add_argument("--read-only", action="store_true", help="mount the rootfs read-only")
    parser.add_argument("--network", choices=("none", "host"), default="none",
                        help="none: own namespace with loopback only (default); host: the host's")
    parser.add_argument("-m", "--memory", type=memory_size, metavar="BYTES")
    parser.add_argument("--cpus", type=positive_float)
    parser.add_argument("--pids-limit", type=int, metavar="N")
    parser.add_argument("-t", "--tty", action="store_true")
    if for_run:
        parser.add_argument("--rm", action="store_true", help="remove the container when it exits")
        parser.add_argument("-d", "--detach", action="store_true")
        parser.add_argument("--name")
        parser.add_argument("-i", "--interactive", action="store_true")
        parser.add_argument("--init", action="store_true", help="run a reaping init as PID 1")
        parser.add_argument("--runtime", choices=("pyreg", "runc", "crun"), default="pyreg")
        parser.add_argument("--pull", choices=("missing", "never"), default="missing")
    parser.add_argument("image", help="a local image: name, digest or id"
                        + (" (pulled when missing)" if for_run else ""))
    if not for_run:
        parser.add_argument("directory", help="the bundle directory to write")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="command and arguments (default: the image's Entrypoint and Cmd)")


def cmd_bundle(args) -> int:
    from runtime.bundle import write_bundle
    try:
        spec = write_bundle(args.root, args.image, args.directory, run_options(args))
    except runtime_errors() as err:
        raise CliError(describe(err), EXIT_RUN_FAILED) from None
    print(f"{args.directory}: {' '.join(spec['process']['args'])}")
    return 0


def register(subparsers) -> None:
    run = subparsers.add_parser("run", help="run a command in a new container",
                                formatter_class=_Formatter)
    add_run_arguments(run)
    run.set_defaults(func=cmd_run)
    bundle = subparsers.add_parser("bundle", formatter_class=_Formatter,
                                   help="write an OCI runtime bundle (config.json + rootfs)")
    add_run_arguments(bundle, for_run=False)
    bundle.set_defaults(func=cmd_bundle)
    register_lifecycle(subparsers)


# lifecycle verbs

def _store(args):
    from runtime.container import ContainerStore
    return ContainerStore(args.root)


def _find(store, key: str):
    from runtime.container import ContainerError
    try:
        return store.find(key)
    except ContainerError as err:
        raise CliError(str(err)) from None


def cmd_ps(args) -> int:
    from runtime.container import Status
    from runtime.lifecycle import status_text
    rows = [("CONTAINER ID", "IMAGE", "COMMAND", "STATUS", "NAMES")]
    for container in _store(args).list():
        if not args.all and container.effective_status() != Status.RUNNING:
            continue
        if args.quiet:
            print(container.id[:12])
            continue
        command = " ".join(container.command)
        command = command if len(command) <= 30 else command[:27] + "..."
        rows.append((container.id[:12], container.image, f'"{command}"', status_text(container),
                     container.name))
    if not args.quiet:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("   ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def _each(args, action) -> int:
    """Apply action to every named container; report failures, go on."""
    store, failed = _store(args), 0
    for key in args.containers:
        try:
            action(store, _find(store, key))
            print(key)
        except (CliError, *runtime_errors()) as err:
            print(f"pyreg: {describe(err)}", file=sys.stderr)
            failed = 1
    return failed


def cmd_stop(args) -> int:
    from runtime.lifecycle import stop
    return _each(args, lambda store, c: stop(store, c, args.time))


def cmd_kill(args) -> int:
    from runtime.lifecycle import parse_signal, send_signal
    signum = parse_signal(args.signal)
    return _each(args, lambda store, c: send_signal(store, c, signum))


def cmd_rm(args) -> int:
    from runtime.lifecycle import remove
    return _each(args, lambda store, c: remove(store, c, args.force))


def cmd_logs(args) -> int:
    from runtime.lifecycle import follow_log, write_out
    store = _store(args)
    try:
        for chunk in follow_log(store, _find(store, args.container), args.follow):
            write_out(chunk)
    except runtime_errors() as err:
        raise CliError(describe(err)) from None
    return 0


def cmd_exec(args) -> int:
    from runtime.execute import ExecOptions, exec_process
    from runtime.process import Stdio
    if not args.command:
        raise CliError("exec needs a command")
    store = _store(args)
    container = _find(store, args.container)
    options = ExecOptions(tuple(args.command), tuple(expand_env(args.env)), args.workdir, args.user)
    stdin = 0 if args.interactive else os.open(os.devnull, os.O_RDONLY)
    try:
        return exec_process(store, container, options, Stdio(stdin, 1, 2))
    except runtime_errors() as err:
        code = getattr(err, "exit_code", 126)
        raise CliError(describe(err), code if code in (126, 127) else 126) from None


def register_lifecycle(subparsers) -> None:
    ps = subparsers.add_parser("ps", help="list containers")
    ps.add_argument("-a", "--all", action="store_true", help="include stopped containers")
    ps.add_argument("-q", "--quiet", action="store_true", help="only ids")
    ps.set_defaults(func=cmd_ps)
    logs = subparsers.add_parser("logs", help="show a detached container's output")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("container")
    logs.set_defaults(func=cmd_logs)
    stop = subparsers.add_parser("stop", help="SIGTERM, then SIGKILL after a grace period")
    stop.add_argument("-t", "--time", type=float, default=10.0, metavar="SECS")
    stop.add_argument("containers", nargs="+")
    stop.set_defaults(func=cmd_stop)
    kill = subparsers.add_parser("kill", help="send a signal (default KILL)")
    kill.add_argument("-s", "--signal", default="KILL")
    kill.add_argument("containers", nargs="+")
    kill.set_defaults(func=cmd_kill)
    rm = subparsers.add_parser("rm", help="remove containers")
    rm.add_argument("-f", "--force", action="store_true", help="kill a running container first")
    rm.add_argument("containers", nargs="+")
    rm.set_defaults(func=cmd_rm)
    exec_ = subparsers.add_parser("exec", help="run a command in a running container")
    exec_.add_argument("-e", "--env", action="append", default=[])
    exec_.add_argument("-w", "--workdir")
    exec_.add_argument("-u", "--user")
    exec_.add_argument("-i", "--interactive", action="store_true")
    exec_.add_argument("container")
    exec_.add_argument("command", nargs=argparse.REMAINDER)
    exec_.set_defaults(func=cmd_exec)
