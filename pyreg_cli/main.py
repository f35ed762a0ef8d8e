"""Entry point of the `pyreg` command.

Each verb group lives in its own module with a `register(subparsers)`
function. Those modules import their heavy dependencies (aiohttp, boto3)
inside the verb handlers, so `pyreg run` starts without loading them.
"""
from __future__ import annotations

import importlib
import os
import sys

VERB_MODULES = ("pyreg_cli.serve", "pyreg_cli.tokens", "pyreg_cli.images", "pyreg_cli.containers")
# Which module owns each verb, so that `pyreg run` builds one module's parsers
# instead of all of them: that was a third of its start-up time.
VERB_OWNERS = {
    "serve": "pyreg_cli.serve",
    "token": "pyreg_cli.tokens", "token-server": "pyreg_cli.tokens",
    **dict.fromkeys(("login", "logout", "pull", "push", "inspect", "tags", "delete", "copy",
                     "tag", "images", "rmi", "save", "load"), "pyreg_cli.images"),
    **dict.fromkeys(("run", "bundle", "ps", "logs", "stop", "kill", "rm", "exec"),
                    "pyreg_cli.containers"),
}
GLOBAL_OPTIONS_WITH_VALUE = ("--root",)
FAST_PARSERS = {"run": "pyreg_cli.containers"}


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
            module = importlib.import_module(module_name)
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
    verb = requested_verb(argv)
    args = None
    if verb in FAST_PARSERS:
        args = importlib.import_module(FAST_PARSERS[verb]).parse_fast(argv)
    if args is None:
        args = build_parser(verb).parse_args(argv)
    args.root = args.root or default_root()
    debug = args.debug or bool(os.environ.get("PYREG_DEBUG"))
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
