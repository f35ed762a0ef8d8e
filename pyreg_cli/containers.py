"""Container verbs, docker-like: run, ps, logs, stop, kill, rm, exec, bundle.
Thin: parse arguments into typed options, call `runtime`, print. Only the
standard library and `runtime` load on this path (no aiohttp), so `pyreg run`
starts fast; a missing image is pulled through `puller`, imported on demand.
"""
from __future__ import annotations

import os
import sys

from pyreg_cli.main import CliError
from pyreg_cli.run_args import HOSTNAME_PATTERN, RUN_ONLY_OPTIONS, RUN_OPTIONS, ParsedArgs, parse_run_tokens

EXIT_RUN_FAILED = 125
def _formatter(prog: str):
    """A fixed help width: argparse makes a formatter for every option added,
    and the default one asks the terminal for its size each time (slow)."""
    import argparse
    return argparse.HelpFormatter(prog, width=int(os.environ.get("COLUMNS") or 100))


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


def _valid_hostname(name: str) -> bool:
    import re
    return re.fullmatch(HOSTNAME_PATTERN, name) is not None  # fullmatch: `$` would allow a final \n


def run_options(args):
    from runtime.spec.build import RunOptions, SpecError, Volume
    try:
        volumes = tuple(Volume.parse(v) for v in args.volume)
    except SpecError as err:
        raise CliError(str(err), EXIT_RUN_FAILED) from None
    for volume in volumes:
        if not os.path.exists(volume.host):
            raise CliError(f"volume source {volume.host} does not exist", EXIT_RUN_FAILED)
    if args.hostname and not _valid_hostname(args.hostname):
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
        pids_limit=args.pids_limit, tty=args.tty, cap_add=tuple(args.cap_add),
        cap_drop=tuple(args.cap_drop), seccomp=seccomp_option(args.security_opt))


def seccomp_option(options: list[str]):
    """--security-opt values -> "default", "unconfined" or a loaded profile."""
    chosen = "default"
    for option in options:
        if option in ("no-new-privileges", "no-new-privileges=true", "no-new-privileges:true"):
            continue  # always on
        key, sep, value = option.partition("=")
        if not sep:
            key, sep, value = option.partition(":")  # docker's older seccomp:PATH
        if key != "seccomp" or not value:
            raise CliError(f"unsupported --security-opt {option!r}: pyreg knows seccomp=unconfined, "
                           "seccomp=PROFILE.json and no-new-privileges", EXIT_RUN_FAILED)
        chosen = "unconfined" if value == "unconfined" else _read_profile(value)
    return chosen


def _read_profile(path: str) -> dict:
    from runtime import fastjson
    try:
        profile = fastjson.load_file(path)
    except OSError as err:
        raise CliError(f"cannot read seccomp profile {path}: {err.strerror}", EXIT_RUN_FAILED) from None
    except ValueError as err:
        raise CliError(f"seccomp profile {path} is not valid JSON: {err}", EXIT_RUN_FAILED) from None
    if not isinstance(profile, dict):
        raise CliError(f"seccomp profile {path} must be a JSON object", EXIT_RUN_FAILED)
    return profile


def runtime_errors():
    """The runtime's expected failures: each becomes one line, exit 125."""
    from runtime.errors import EXPECTED
    return EXPECTED


def describe(err: BaseException) -> str:
    from runtime.kernel.linux import describe as one_line
    return one_line(err)


def log_options(options: list[str]) -> tuple[int | None, int | None]:
    """--log-opt max-size=SIZE / max-file=N, as docker's json-file driver."""
    from pyreg_cli.run_args import byte_size
    size, files = None, None
    for option in options:
        key, _, value = option.partition("=")
        try:
            if key == "max-size":
                size = byte_size(value)
            elif key == "max-file":
                files = int(value)
                if files < 1:
                    raise ValueError
            else:
                raise CliError(f"unsupported --log-opt {option!r}: pyreg knows max-size and "
                               "max-file", EXIT_RUN_FAILED)
        except (ValueError, TypeError):
            raise CliError(f"invalid --log-opt {option!r}", EXIT_RUN_FAILED) from None
    return size, files


def prepare_container(args, options):
    from runtime.image.cache import ImageNotFound
    from runtime.container.run import prepare
    log = log_options(args.log_opt)
    try:
        return prepare(args.root, args.image, options, args.name, args.rm, args.detach,
                       args.runtime, log)
    except ImageNotFound:
        if args.pull == "never":
            raise
    pull_image(args)
    return prepare(args.root, args.image, options, args.name, args.rm, args.detach, args.runtime, log)


def pull_image(args) -> None:
    try:
        from puller import operations as ops
        from puller.progress import make_progress
        from puller.store import LocalStore
        from pyreg_cli.images import run as run_with_transport
    except ImportError:
        raise CliError(f"image {args.image!r} not found locally", EXIT_RUN_FAILED) from None
    print(f"Unable to find image '{args.image}' locally", file=sys.stderr)
    import argparse
    pull_args = argparse.Namespace(root=args.root, insecure=False, ca_cert=None,
                                   debug=args.debug, quiet=False)
    progress = make_progress(False)
    run_with_transport(pull_args, lambda t: ops.pull(LocalStore(args.root), args.image, t,
                                                     ops.PullOptions(), progress))


def end_program(code: int) -> int:
    """When this process is the `pyreg` program, end it here: the container
    is gone and its state recorded, and the interpreter's own teardown (a
    garbage collection, then every module freed) would cost more CPU than
    the container's whole start. Called in-process (tests), just return."""
    main_module = sys.modules.get("__main__")
    from pyreg_cli import main as cli
    if getattr(main_module, "main", None) is not cli.main:
        return code
    import atexit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def cmd_run(args) -> int:
    from runtime.inside import process
    from runtime.container.run import supervise
    options = run_options(args)
    try:
        prepared = prepare_container(args, options)
        if args.detach:
            from runtime.container.shim import start_detached
            start_detached(prepared, args.init)
            print(prepared.container.id)
            return end_program(0)
        if args.tty:
            from runtime.container.terminal import run_with_terminal
            return end_program(run_with_terminal(prepared, args.interactive, args.init,
                                                 keep_log=not args.rm))
        stdin = 0 if args.interactive else os.open(os.devnull, os.O_RDONLY)
        if not args.rm:  # kept: so is its output, for `pyreg logs`
            from runtime.container.shim import supervise_logged
            return end_program(supervise_logged(prepared, stdin, args.init, attached=True))
        return end_program(supervise(prepared, process.Stdio(stdin, 1, 2), args.init))
    except runtime_errors() as err:
        code = getattr(err, "exit_code", EXIT_RUN_FAILED)
        raise CliError(describe(err), code if code in (126, 127) else EXIT_RUN_FAILED) from None


def add_run_arguments(parser, for_run: bool = True) -> None:
    import argparse
    for option in RUN_OPTIONS + (RUN_ONLY_OPTIONS if for_run else ()):
        parser.add_argument(*option.flags, **option.argparse_kwargs())
    parser.add_argument("image", help="a local image: name, digest or id"
                        + (" (pulled when missing)" if for_run else ""))
    if not for_run:
        parser.add_argument("directory", help="the bundle directory to write")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="command and arguments (default: the image's Entrypoint and Cmd)")


def parse_fast(argv: list[str]) -> ParsedArgs | None:
    """`[--root DIR] [--debug] run [options] IMAGE [COMMAND...]` parsed as
    argparse would, without importing or building argparse; None for
    anything else (help, errors, `--`, abbreviations, `-eX=1`), which the
    caller then hands to argparse for the same result or message."""
    values, index = {"root": None, "debug": False}, 0
    while index < len(argv) and argv[index].startswith("-"):
        token = argv[index]
        if token == "--debug":
            values["debug"], index = True, index + 1
        elif token.startswith("--root="):
            values["root"], index = token[len("--root="):], index + 1
        elif token == "--root" and index + 1 < len(argv) and not argv[index + 1].startswith("-"):
            values["root"], index = argv[index + 1], index + 2
        else:
            return None
    if argv[index:index + 1] != ["run"]:
        return None
    run = parse_run_fast(argv[index + 1:])
    return None if run is None else ParsedArgs(**values, **run.__dict__)


def parse_run_fast(tokens: list[str]) -> ParsedArgs | None:
    """The part after `run`, as above."""
    if "--" in tokens:
        return None
    parsed = parse_run_tokens(tokens)
    if parsed is not None:
        parsed.func = cmd_run
    return parsed


def cmd_bundle(args) -> int:
    from runtime.container.bundle import write_bundle
    try:
        spec = write_bundle(args.root, args.image, args.directory, run_options(args))
    except runtime_errors() as err:
        raise CliError(describe(err), EXIT_RUN_FAILED) from None
    print(f"{args.directory}: {' '.join(spec['process']['args'])}")
    return 0


def lazy_parser(subparsers, name: str, func, add_arguments, fast=None, **kwargs):
    """A verb's parser whose arguments are added when it is first used: a
    `pyreg run` would otherwise spend a millisecond on seven other verbs.
    `fast(tokens)`, if given, parses the common forms without them."""
    parser = subparsers.add_parser(name, formatter_class=_formatter, **kwargs)
    parser.set_defaults(func=func)

    def parse_known_args(args=None, namespace=None):
        parsed = fast(args) if fast is not None and args is not None and namespace is None else None
        if parsed is not None:
            return parsed, []
        del parser.parse_known_args  # the class's own method from now on
        add_arguments(parser)
        return parser.parse_known_args(args, namespace)
    parser.parse_known_args = parse_known_args
    return parser


def register(subparsers) -> None:
    lazy_parser(subparsers, "run", cmd_run, add_run_arguments, fast=parse_run_fast,
                help="run a command in a new container")
    lazy_parser(subparsers, "bundle", cmd_bundle, lambda p: add_run_arguments(p, for_run=False),
                help="write an OCI runtime bundle (config.json + rootfs)")
    register_lifecycle(subparsers)


# lifecycle verbs

def _store(args):
    from runtime.container.state import ContainerStore
    return ContainerStore(args.root)


def _find(store, key: str):
    from runtime.container.state import ContainerError
    try:
        return store.find(key)
    except ContainerError as err:
        raise CliError(str(err)) from None


def cmd_ps(args) -> int:
    from runtime.container.state import Status
    from runtime.container.lifecycle import status_text
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
    from runtime.container.lifecycle import stop
    return _each(args, lambda store, c: stop(store, c, args.time))


def cmd_kill(args) -> int:
    from runtime.container.lifecycle import parse_signal, send_signal
    signum = parse_signal(args.signal)
    return _each(args, lambda store, c: send_signal(store, c, signum))


def cmd_rm(args) -> int:
    from runtime.container.lifecycle import remove
    return _each(args, lambda store, c: remove(store, c, args.force))


def cmd_logs(args) -> int:
    from runtime.container.lifecycle import follow_log, write_out
    store = _store(args)
    try:
        for chunk in follow_log(store, _find(store, args.container), args.follow):
            write_out(chunk)
    except runtime_errors() as err:
        raise CliError(describe(err)) from None
    return 0


def cmd_exec(args) -> int:
    from runtime.container.execute import ExecOptions, exec_process
    from runtime.inside.process import Stdio
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
    lazy_parser(subparsers, "ps", cmd_ps, _ps_arguments, help="list containers")
    lazy_parser(subparsers, "logs", cmd_logs, _logs_arguments,
                help="show a detached container's output")
    lazy_parser(subparsers, "stop", cmd_stop, _stop_arguments,
                help="SIGTERM, then SIGKILL after a grace period")
    lazy_parser(subparsers, "kill", cmd_kill, _kill_arguments, help="send a signal (default KILL)")
    lazy_parser(subparsers, "rm", cmd_rm, _rm_arguments, help="remove containers")
    lazy_parser(subparsers, "exec", cmd_exec, _exec_arguments,
                help="run a command in a running container")


def _ps_arguments(ps) -> None:
    ps.add_argument("-a", "--all", action="store_true", help="include stopped containers")
    ps.add_argument("-q", "--quiet", action="store_true", help="only ids")


def _logs_arguments(logs) -> None:
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("container")


def _stop_arguments(stop) -> None:
    stop.add_argument("-t", "--time", type=float, default=10.0, metavar="SECS")
    stop.add_argument("containers", nargs="+")


def _kill_arguments(kill) -> None:
    kill.add_argument("-s", "--signal", default="KILL")
    kill.add_argument("containers", nargs="+")


def _rm_arguments(rm) -> None:
    rm.add_argument("-f", "--force", action="store_true", help="kill a running container first")
    rm.add_argument("containers", nargs="+")


def _exec_arguments(exec_) -> None:
    import argparse
    exec_.add_argument("-e", "--env", action="append", default=[])
    exec_.add_argument("-w", "--workdir")
    exec_.add_argument("-u", "--user")
    exec_.add_argument("-i", "--interactive", action="store_true")
    exec_.add_argument("container")
    exec_.add_argument("command", nargs=argparse.REMAINDER)
