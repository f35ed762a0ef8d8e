"""Container verbs for containers that exist, docker-like: ps, logs, stop,
kill, rm, exec. Thin: find the container, call `runtime`, print.
"""
from __future__ import annotations

import os
import sys

from pyreg_cli.containers import FAILURES, expand_env
from pyreg_cli.main import CliError
from runtime.errors import EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, describe, exit_code_of


def _store(args):
    from runtime.container.state import ContainerStore
    return ContainerStore(args.root)


def _find(store, key: str):
    try:
        return store.find(key)
    except FAILURES as err:
        raise CliError(describe(err)) from None


def cmd_ps(args) -> int:
    from runtime.container.lifecycle import status_text
    from runtime.container.state import Status
    from runtime.container.networking import describe_ports, published_ports, sweep
    sweep(args.root)  # what supervisors killed by kill -9 left
    rows = [("CONTAINER ID", "IMAGE", "COMMAND", "STATUS", "PORTS", "NAMES")]
    for container in _store(args).list():
        if not args.all and container.effective_status() != Status.RUNNING:
            continue
        if args.quiet:
            print(container.id[:12])
            continue
        command = " ".join(container.command)
        command = command if len(command) <= 30 else command[:27] + "..."
        rows.append((container.id[:12], container.image, f'"{command}"', status_text(container),
                     describe_ports(published_ports(args.root, container.id)), container.name))
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
        except (CliError, *FAILURES) as err:
            print(f"pyreg: {describe(err)}", file=sys.stderr)
            failed = 1
    return failed


def cmd_stop(args) -> int:
    from runtime.container.lifecycle import stop
    return _each(args, lambda store, c: stop(store, c, args.time))


def cmd_kill(args) -> int:
    from runtime.container.lifecycle import parse_signal, send_signal
    try:
        signum = parse_signal(args.signal)
    except FAILURES as err:
        raise CliError(describe(err)) from None
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
    except FAILURES as err:
        raise CliError(describe(err)) from None
    return 0


def cmd_exec(args) -> int:
    from runtime.container.execute import ExecOptions, exec_process
    from runtime.inside.process import Stdio
    if not args.command:
        raise CliError("exec needs a command")
    store = _store(args)
    container = _find(store, args.container)
    options = ExecOptions(tuple(args.command), tuple(expand_env(args.env)), args.workdir, args.user,
                          args.tty, args.interactive)
    stdin = 0 if args.interactive else os.open(os.devnull, os.O_RDONLY)
    try:
        return exec_process(store, container, options, Stdio(stdin, 1, 2), args.debug)
    except FAILURES as err:
        code = exit_code_of(err)  # docker exec: 126 when the process could not start
        raise CliError(describe(err), code if code in (EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND)
                       else EXIT_NOT_EXECUTABLE) from None


def register(subparsers) -> None:
    import argparse
    ps = subparsers.add_parser("ps", help="list containers")
    ps.add_argument("-a", "--all", action="store_true", help="include stopped containers")
    ps.add_argument("-q", "--quiet", action="store_true", help="only ids")
    ps.set_defaults(func=cmd_ps)
    logs = subparsers.add_parser("logs", help="show a container's kept output")
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
    exec_.add_argument("-t", "--tty", action="store_true", help="through a pseudo-terminal")
    exec_.add_argument("container")
    exec_.add_argument("command", nargs=argparse.REMAINDER)
    exec_.set_defaults(func=cmd_exec)
