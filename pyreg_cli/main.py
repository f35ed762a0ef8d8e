"""Entry point of the `pyreg` command.

Each verb group lives in its own module with a `register(subparsers)`
function. Those modules import their heavy dependencies (aiohttp, boto3)
inside the verb handlers, so `pyreg run` starts without loading them.
"""
from __future__ import annotations

import os
import sys

VERB_MODULES = ("pyreg_cli.serve", "pyreg_cli.tokens", "pyreg_cli.images", "pyreg_cli.containers",
                "pyreg_cli.lifecycle", "pyreg_cli.build", "pyreg_cli.starting",
                "pyreg_cli.volumes", "pyreg_cli.gc", "pyreg_cli.networks")
# Which module owns each verb, so that a verb builds one module's parsers
# instead of all of them.
VERB_OWNERS = {
    "serve": "pyreg_cli.serve",
    "token": "pyreg_cli.tokens", "token-server": "pyreg_cli.tokens",
    **dict.fromkeys(("login", "logout", "pull", "push", "inspect", "tags", "delete", "copy",
                     "tag", "images", "rmi", "save", "load"), "pyreg_cli.images"),
    **dict.fromkeys(("run", "bundle"), "pyreg_cli.containers"),
    **dict.fromkeys(("ps", "logs", "stop", "kill", "rm", "exec"), "pyreg_cli.lifecycle"),
    "build": "pyreg_cli.build",
    **dict.fromkeys(("create", "start", "restart", "wait", "container", "image"), "pyreg_cli.starting"),
    "volume": "pyreg_cli.volumes",
    "gc": "pyreg_cli.gc", "du": "pyreg_cli.usage",
    "network": "pyreg_cli.networks", "port": "pyreg_cli.networks",
}
GLOBAL_OPTIONS_WITH_VALUE = ("--root",)
# Verbs whose module parses them itself, with `parse_verb(verb, tokens,
# global values)`, without argparse: building argparse's parsers took a
# third of `pyreg run`'s start-up time.
SELF_PARSED = {"run": "pyreg_cli.containers", "bundle": "pyreg_cli.containers",
               "create": "pyreg_cli.starting"}


class CliError(Exception):
    """An error reported to the user as one line, with an exit code."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def default_root() -> str:
    if os.environ.get("PYREG_HOME"):
        return os.environ["PYREG_HOME"]
    if os.geteuid() == 0:
        return "/var/lib/pyreg"
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(data_home, "pyreg")


def requested_verb(argv: list[str]) -> str | None:
    """The verb in argv, looking past the global options; None if there is none."""
    tokens = iter(argv)
    for token in tokens:
        if token in GLOBAL_OPTIONS_WITH_VALUE:
            next(tokens, None)
        elif not token.startswith("-"):
            return token
    return None


def verb_module(name: str):
    """The module that owns a verb. (`__import__`, not importlib: importing
    importlib, and the warnings module it loads, costs `pyreg run` 0.5 ms.)"""
    __import__(name)
    return sys.modules[name]


def global_options(argv: list[str]) -> tuple[dict, list[str]] | None:
    """The global options before the verb, in their plain forms (`--root DIR`,
    `--root=DIR`, `--debug`), and what follows the verb; None for anything
    else (help, abbreviations, errors), which argparse then reads."""
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
    return (values, argv[index + 1:]) if index < len(argv) else None


def parse_arguments(argv: list[str]):
    verb = requested_verb(argv)
    if verb in SELF_PARSED:
        leading = global_options(argv)
        if leading is not None:
            values, tokens = leading
            return verb_module(SELF_PARSED[verb]).parse_verb(verb, tokens, values)
    return build_parser(verb).parse_args(argv)


def build_parser(verb: str | None = None):
    """The parser; with a known verb, only the module that owns it is loaded."""
    import argparse
    parser = argparse.ArgumentParser(prog="pyreg", description="A container registry, client and runtime.")
    parser.add_argument("--root", default=None, help="local store directory (default: $PYREG_HOME, "
                        "/var/lib/pyreg for root, else ~/.local/share/pyreg)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    owner = VERB_OWNERS.get(verb or "")
    for module_name in (owner,) if owner else VERB_MODULES:
        try:
            module = verb_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text


def is_client_failure(err: BaseException) -> bool:
    """Whether `err` is one of the client's failures (puller.errors.PullerError),
    whose message is the line to show. Asked of sys.modules rather than by an
    import: a command that never loaded the client cannot have raised one,
    and `pyreg run` does not pay for loading it."""
    errors = sys.modules.get("puller.errors")
    return errors is not None and isinstance(err, errors.PullerError)


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    args = parse_arguments(argv)
    # absolute: the runtime chdirs before it mounts, where a relative root would name another place
    args.root = os.path.abspath(args.root or default_root())
    # PYREG_DEBUG is read here, once: what runs below gets args.debug
    args.debug = debug = args.debug or bool(os.environ.get("PYREG_DEBUG"))
    try:
        return int(args.func(args) or 0)
    except CliError as err:
        print(f"pyreg: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 141
    except Exception as err:
        if debug:
            raise
        # a client failure's message is the line to show; anything else is a
        # bug, and the last line of defence still makes it one readable line
        print(f"pyreg: {err if is_client_failure(err) else one_line(err)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # `python -m pyreg_cli.main`: run the module the verbs import, so that the
    # CliError they raise is the one main() catches (not __main__'s copy).
    from pyreg_cli.main import main as imported_main
    sys.exit(imported_main())
