"""Container verbs around (re)starting, docker-like: create, start,
restart, wait, and `inspect` of containers (`pyreg inspect` takes a
container when one has the name, else an image; `pyreg container
inspect` and `pyreg image inspect` say which). Thin: find the container,
call `runtime`, print.
"""
from __future__ import annotations

import json
import sys

from pyreg_cli.containers import FAILURES, host_options, run_options
from pyreg_cli.inspect_container import inspect_named
from pyreg_cli.main import CliError
from pyreg_cli.run_args import RUN_ONLY_OPTIONS, RUN_OPTIONS, VerbParser
from runtime.errors import describe, exit_code_of

CREATE_PARSER = VerbParser("pyreg create", RUN_OPTIONS + RUN_ONLY_OPTIONS, ("image", "command"),
                           "Create a container of a local image (pulled when missing) without "
                           "starting it; `pyreg start` runs it.")


def _store(args):
    from runtime.container.state import ContainerStore
    return ContainerStore(args.root)


def _each(args, action) -> int:
    """Apply action(store, container) to every named container; report
    failures as one line each and go on; 1 if any failed, as docker."""
    store, failed = _store(args), 0
    for key in args.containers:
        try:
            action(store, store.find(key))
        except FAILURES as err:
            print(f"pyreg: {describe(err)}", file=sys.stderr)
            failed = 1
    return failed


def cmd_create(args) -> int:
    from runtime.container import runtimes
    from runtime.container.run import prepare
    network = args.network or "none"  # not bridge by default: a created container would hold its lease and ports
    options, host = run_options(args, network), host_options(args, network)
    try:
        prepared = prepare(args.root, args.image, options, runtimes.named(args.runtime, args.debug),
                           host)
    except FAILURES as err:
        raise CliError(describe(err), exit_code_of(err)) from None
    prepared.store.save(prepared.container)  # prepare leaves a --rm one unsaved until it runs
    print(prepared.container.id)
    return 0


def cmd_start(args) -> int:
    from runtime.container.relaunch import start
    if args.attach:
        if len(args.containers) != 1:
            raise CliError("start -a takes one container")
        store = _store(args)
        try:
            return start(store, store.find(args.containers[0]), True, args.debug)
        except FAILURES as err:
            raise CliError(describe(err), exit_code_of(err)) from None

    def start_one(store, container) -> None:
        start(store, container, False, args.debug)
        print(container.name if container.name in args.containers else container.id[:12])
    return _each(args, start_one)


def cmd_restart(args) -> int:
    from runtime.container.lifecycle import stop
    from runtime.container.relaunch import start

    def restart_one(store, container) -> None:
        stop(store, container, args.time)
        start(store, store.load(container.id), False, args.debug)
        print(container.name if container.name in args.containers else container.id[:12])
    return _each(args, restart_one)


def cmd_wait(args) -> int:
    from runtime.container.lifecycle import wait_exit

    def wait_one(store, container) -> None:
        code = wait_exit(store, container)
        print(-1 if code is None else code, flush=True)
    return _each(args, wait_one)


def cmd_container_inspect(args) -> int:
    found, failed = [], 0
    for key in args.containers:
        data = inspect_named(args.root, key)
        if data is None:
            print(f"pyreg: no such container: {key}", file=sys.stderr)
            failed = 1
        else:
            found.append(data)
    print(json.dumps(found, indent=2))
    return failed


def cmd_image_inspect(args) -> int:
    from pyreg_cli.images import cmd_inspect
    args.images_only = True
    return cmd_inspect(args) or 0


def parse_verb(verb: str, tokens: list[str], values: dict):
    args = CREATE_PARSER.parse(tokens, **values)
    args.func = cmd_create
    return args


def _created_by_argparse(args):
    return cmd_create(parse_verb("create", args.arguments, {"root": args.root, "debug": args.debug}))


def register(subparsers) -> None:
    import argparse
    create = subparsers.add_parser("create", help="create a container without starting it",
                                   add_help=False, prefix_chars="\0")
    create.add_argument("arguments", nargs=argparse.REMAINDER)
    create.set_defaults(func=_created_by_argparse)
    start = subparsers.add_parser("start", help="start created or stopped containers")
    start.add_argument("-a", "--attach", action="store_true",
                       help="show its output and end with its exit code")
    start.add_argument("containers", nargs="+")
    start.set_defaults(func=cmd_start)
    restart = subparsers.add_parser("restart", help="stop, then start containers")
    restart.add_argument("-t", "--time", type=float, default=10.0, metavar="SECS")
    restart.add_argument("containers", nargs="+")
    restart.set_defaults(func=cmd_restart)
    wait = subparsers.add_parser("wait", help="wait for containers to end; print exit codes")
    wait.add_argument("containers", nargs="+")
    wait.set_defaults(func=cmd_wait)
    _register_explicit_inspect(subparsers)


def _register_explicit_inspect(subparsers) -> None:
    container = subparsers.add_parser("container", help="container commands: inspect")
    verbs = container.add_subparsers(dest="container_command", metavar="COMMAND")
    verbs.required = True
    inspect = verbs.add_parser("inspect", help="show containers as docker-shaped JSON")
    inspect.add_argument("containers", nargs="+")
    inspect.set_defaults(func=cmd_container_inspect)
    image = subparsers.add_parser("image", help="image commands: inspect")
    verbs = image.add_subparsers(dest="image_command", metavar="COMMAND")
    verbs.required = True
    inspect = verbs.add_parser("inspect", help="show an image as JSON")
    inspect.add_argument("ref")
    inspect.add_argument("--remote", action="store_true", help="ask the registry, not the local store")
    inspect.add_argument("--platform", help="with --remote: resolve an index to this platform")
    inspect.add_argument("--insecure", action="store_true",
                         help="skip TLS verification, fall back to plain HTTP")
    inspect.add_argument("--ca-cert", metavar="FILE", help="trust this CA certificate (PEM)")
    inspect.set_defaults(func=cmd_image_inspect)
