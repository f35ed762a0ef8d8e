"""Container verbs that make containers, docker-like: run and bundle.
Thin: parse arguments into typed options, call `runtime`, print. Only the
standard library and `runtime` load on this path (no argparse, no aiohttp),
so `pyreg run` starts fast; a missing image is pulled through `puller`,
imported on demand. The environment knobs of the runtime are read here,
once, and passed inward.
"""
from __future__ import annotations

import os
import sys

from pyreg_cli.main import CliError
from pyreg_cli.run_args import BUNDLE_PARSER, HOSTNAME_PATTERN, RUN_PARSER, byte_size
from runtime.errors import EXIT_SETUP_FAILED, RuntimeFailure, describe, exit_code_of

# What the runtime fails with when a person can act on it: its own base,
# and the system's errors (a full disk, a permission). Anything else is a bug.
FAILURES = (RuntimeFailure, OSError)
ROOTFS_MODES = ("", "copy")  # PYREG_ROOTFS: unset, or copy (a flattened copy, no overlayfs)


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


def run_options(args, network: str = "none"):
    """network: the one `run` chose (--network, else its default); a
    bundle's is --network or none."""
    from pyreg_cli.mount_args import mount_options
    from runtime.runspec.build import RunOptions
    mounts = mount_options(args)  # -v, --mount, --tmpfs
    if args.hostname and not _valid_hostname(args.hostname):
        raise CliError(f"invalid hostname {args.hostname!r}: letters, digits, '.' and '-', "
                       "at most 63", EXIT_SETUP_FAILED)
    entrypoint = None
    if args.entrypoint is not None:
        entrypoint = (args.entrypoint,) if args.entrypoint else ()
    userns = userns_option(args)
    if userns is not None and (args.network or network) not in ("none", "host"):
        raise CliError("--userns with a bridge network is not supported yet: add --network none or host",
                       EXIT_SETUP_FAILED)
    return RunOptions(
        command=tuple(args.command), entrypoint=entrypoint,
        env=tuple(read_env_files(args.env_file) + expand_env(args.env)),
        workdir=args.workdir, user=args.user, hostname=args.hostname or "", **mounts,
        read_only=args.read_only, network=args.network or network, memory=args.memory, cpus=args.cpus,
        pids_limit=args.pids_limit, tty=args.tty, cap_add=tuple(args.cap_add),
        cap_drop=tuple(args.cap_drop), seccomp=seccomp_option(args.security_opt),
        userns=userns)


def userns_option(args):
    """--userns, parsed (None: the host's user namespace)."""
    if not getattr(args, "userns", ""):
        return None
    from runtime.runspec.userns import UsernsMode
    try:
        return UsernsMode.parse(args.userns)
    except RuntimeFailure as err:
        raise CliError(str(err), EXIT_SETUP_FAILED) from None


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
                           "seccomp=PROFILE.json and no-new-privileges", EXIT_SETUP_FAILED)
        chosen = "unconfined" if value == "unconfined" else _read_profile(value)
    return chosen


def _read_profile(path: str) -> dict:
    from runtime import fastjson
    try:
        profile = fastjson.load_file(path)
    except OSError as err:
        raise CliError(f"cannot read seccomp profile {path}: {err.strerror}", EXIT_SETUP_FAILED) from None
    except ValueError as err:
        raise CliError(f"seccomp profile {path} is not valid JSON: {err}", EXIT_SETUP_FAILED) from None
    if not isinstance(profile, dict):
        raise CliError(f"seccomp profile {path} must be a JSON object", EXIT_SETUP_FAILED)
    return profile


def log_options(options: list[str]) -> tuple[int | None, int | None]:
    """--log-opt max-size=SIZE / max-file=N, as docker's json-file driver."""
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
                               "max-file", EXIT_SETUP_FAILED)
        except (ValueError, TypeError):
            raise CliError(f"invalid --log-opt {option!r}", EXIT_SETUP_FAILED) from None
    return size, files


def copy_rootfs() -> bool:
    """PYREG_ROOTFS=copy: containers get a flattened copy, never overlayfs."""
    mode = os.environ.get("PYREG_ROOTFS", "")
    if mode not in ROOTFS_MODES:
        raise CliError(f"PYREG_ROOTFS={mode!r}: pyreg knows only PYREG_ROOTFS=copy", EXIT_SETUP_FAILED)
    return mode == "copy"


def host_options(args, network: str):
    from pyreg_cli.networks import network_request
    from runtime.container.run import HostOptions
    size, files = log_options(args.log_opt)
    pull = None if args.pull == "never" else lambda: pull_image(args)
    return HostOptions(name=args.name, auto_remove=args.rm, detached=args.detach,
                       log_max_size=size, log_max_files=files, copy_rootfs=copy_rootfs(), pull=pull,
                       init=args.init, restart_policy=restart_policy(args),
                       network=network_request(args, network))


def restart_policy(args) -> str:
    """--restart, checked: its text as the record keeps it."""
    if args.restart in ("", "no"):
        return "no"
    from runtime.container.restarts import RestartPolicy
    try:
        policy = RestartPolicy.parse(args.restart)
    except RuntimeFailure as err:
        raise CliError(str(err), EXIT_SETUP_FAILED) from None
    if args.rm:
        raise CliError("conflicting options: --restart and --rm", EXIT_SETUP_FAILED)
    return policy.text()


def pull_image(args) -> None:
    try:
        from puller import operations as ops
        from puller.progress import make_progress
        from puller.store import LocalStore
        from pyreg_cli.images import run as run_with_transport
    except ImportError:
        raise CliError(f"image {args.image!r} not found locally", EXIT_SETUP_FAILED) from None
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
    from runtime.container import runtimes
    from runtime.container.run import prepare, supervise
    from runtime.inside.process import Stdio
    from pyreg_cli.networks import default_network
    network = args.network or default_network()
    options, host = run_options(args, network), host_options(args, network)
    try:
        prepared = prepare(args.root, args.image, options, runtimes.named(args.runtime, args.debug),
                           host)
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
        return end_program(supervise(prepared, Stdio(stdin, 1, 2), args.init))
    except FAILURES as err:
        raise CliError(describe(err), exit_code_of(err)) from None


def cmd_bundle(args) -> int:
    from runtime.container.bundle import write_bundle
    try:
        spec = write_bundle(args.root, args.image, args.directory, run_options(args))
    except FAILURES as err:
        raise CliError(describe(err), EXIT_SETUP_FAILED) from None
    print(f"{args.directory}: {' '.join(spec['process']['args'])}")
    return 0


PARSERS = {"run": (RUN_PARSER, cmd_run), "bundle": (BUNDLE_PARSER, cmd_bundle)}


def parse_verb(verb: str, tokens: list[str], values: dict):
    """`run` or `bundle` and what follows it, parsed by its one parser;
    values: the global options main read before the verb."""
    parser, func = PARSERS[verb]
    args = parser.parse(tokens, **values)
    args.func = func
    return args


def _parsed_by_argparse(args):
    """A verb that argparse routed (main found the global options in a form
    it leaves to argparse): parse the verb's own arguments, then run it."""
    parsed = parse_verb(args.command, args.arguments, {"root": args.root, "debug": args.debug})
    return parsed.func(parsed)


def register(subparsers) -> None:
    """run and bundle, for argparse's list of verbs; each takes everything
    after its name as is (prefix_chars that no argument starts with) and
    hands it to its own parser."""
    import argparse
    for verb, summary in (("run", "run a command in a new container"),
                          ("bundle", "write an OCI runtime bundle (config.json + rootfs)")):
        parser = subparsers.add_parser(verb, help=summary, add_help=False, prefix_chars="\0")
        parser.add_argument("arguments", nargs=argparse.REMAINDER)
        parser.set_defaults(func=_parsed_by_argparse)
