"""The options of `run` and `bundle`, declared once, and a parser for the
common forms of `pyreg run` that needs no argparse: building argparse's
parsers costs more start-up time than the container itself."""
from __future__ import annotations

# patterns, not compiled regexes: compiling costs start-up time even when unused
HOSTNAME_PATTERN = r"^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$"
_SIZE = r"(?i)^(\d+(?:\.\d+)?)([bkmg]?)b?$"
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def _bad_value(message: str) -> Exception:
    import argparse  # only on this error path: parse_fast runs without argparse
    return argparse.ArgumentTypeError(message)


def byte_size(text: str) -> int:
    """`64m`, `1g`, `512k`, `100` -> bytes; ValueError if it is none of those."""
    import re
    match = re.match(_SIZE, text.strip())
    if not match:
        raise ValueError(f"invalid size {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def memory_size(text: str) -> int:
    try:
        value = byte_size(text)
    except ValueError:
        raise _bad_value(f"invalid size {text!r} (e.g. 64m, 1g)") from None
    if value < 6 * 1024 * 1024:
        raise _bad_value("minimum memory limit allowed is 6MB")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _bad_value(f"invalid number {text!r}") from None
    if value <= 0:
        raise _bad_value("must be greater than 0")
    return value


class Option:
    """One `run`/`bundle` option, declared once for both parsers below."""

    def __init__(self, flags: tuple[str, ...], dest: str, kind: str, type=None, choices=None,
                 default=None, **extra):
        self.flags, self.dest, self.kind = flags, dest, kind  # kind: flag, value or append
        self.type, self.choices, self.default, self.extra = type, choices, default, extra

    def argparse_kwargs(self) -> dict:
        kwargs = {"dest": self.dest, **self.extra}
        if self.kind == "flag":
            return {**kwargs, "action": "store_true"}
        if self.kind == "append":
            return {**kwargs, "action": "append", "default": []}
        return {**kwargs, "type": self.type, "choices": self.choices, "default": self.default}

    def initial(self):
        return False if self.kind == "flag" else [] if self.kind == "append" else self.default


NETWORK_HELP = "none: own namespace with loopback only (default); host: the host's"
RUN_OPTIONS = (  # for run and bundle
    Option(("-e", "--env"), "env", "append", metavar="KEY=VALUE"),
    Option(("--env-file",), "env_file", "append", metavar="FILE"),
    Option(("-w", "--workdir"), "workdir", "value", metavar="DIR"),
    Option(("-u", "--user"), "user", "value", metavar="USER[:GROUP]"),
    Option(("--entrypoint",), "entrypoint", "value", metavar="CMD"),
    Option(("-v", "--volume"), "volume", "append", metavar="HOST:CTR[:ro]"),
    Option(("--hostname",), "hostname", "value", metavar="NAME"),
    Option(("--read-only",), "read_only", "flag", help="mount the rootfs read-only"),
    Option(("--network",), "network", "value", choices=("none", "host"), default="none",
           help=NETWORK_HELP),
    Option(("-m", "--memory"), "memory", "value", type=memory_size, metavar="BYTES"),
    Option(("--cpus",), "cpus", "value", type=positive_float),
    Option(("--pids-limit",), "pids_limit", "value", type=int, metavar="N"),
    Option(("-t", "--tty"), "tty", "flag"),
    Option(("--cap-add",), "cap_add", "append", metavar="CAP", help="add a capability (or ALL)"),
    Option(("--cap-drop",), "cap_drop", "append", metavar="CAP", help="drop a capability (or ALL)"),
    Option(("--security-opt",), "security_opt", "append", metavar="OPT",
           help="seccomp=unconfined, seccomp=PROFILE.json (docker's format), no-new-privileges"),
)
RUN_ONLY_OPTIONS = (
    Option(("--rm",), "rm", "flag", help="remove the container when it exits"),
    Option(("-d", "--detach"), "detach", "flag"),
    Option(("--name",), "name", "value"),
    Option(("-i", "--interactive"), "interactive", "flag"),
    Option(("--init",), "init", "flag", help="run a reaping init as PID 1"),
    Option(("--runtime",), "runtime", "value", choices=("pyreg", "runc", "crun"), default="pyreg"),
    Option(("--pull",), "pull", "value", choices=("missing", "never"), default="missing"),
    Option(("--log-opt",), "log_opt", "append", metavar="KEY=VALUE",
           help="max-size=SIZE (default 10m) and max-file=N (default 2) of the kept output"),
)


class ParsedArgs:
    """What argparse's Namespace would hold, made without argparse."""

    def __init__(self, **values):
        self.__dict__.update(values)


_LONG = {flag: o for o in RUN_OPTIONS + RUN_ONLY_OPTIONS for flag in o.flags if flag.startswith("--")}
_SHORT = {flag[1]: o for o in RUN_OPTIONS + RUN_ONLY_OPTIONS for flag in o.flags
          if not flag.startswith("--")}


def parse_run_tokens(tokens: list[str]) -> ParsedArgs | None:
    """The options, image and command of `run`; None where argparse must decide."""
    values, index = {o.dest: o.initial() for o in RUN_OPTIONS + RUN_ONLY_OPTIONS}, 0
    while index < len(tokens) and tokens[index].startswith("-"):
        index = _parse_option(tokens, index, values)
        if index is None:
            return None
    if index >= len(tokens):
        return None  # no image: argparse says so
    return ParsedArgs(**values, image=tokens[index], command=tokens[index + 1:])


def _parse_option(argv: list[str], index: int, values: dict) -> int | None:
    """Store the option at argv[index]; the index after it, or None."""
    token = argv[index]
    if token.startswith("--"):
        name, equals, attached = token.partition("=")
        option = _LONG.get(name)
    elif len(token) > 2:  # -it: short flags combined; anything else goes to argparse
        options = [_SHORT.get(letter) for letter in token[1:]]
        if not all(o is not None and o.kind == "flag" for o in options):
            return None
        values.update((o.dest, True) for o in options)
        return index + 1
    else:
        option, equals, attached = _SHORT.get(token[1:]), "", ""
    if option is None or (option.kind == "flag" and equals):
        return None
    if option.kind == "flag":
        values[option.dest] = True
        return index + 1
    if not equals:
        if index + 1 >= len(argv) or argv[index + 1].startswith("-"):
            return None
        attached, index = argv[index + 1], index + 1
    value = _converted(option, attached)
    if value is None:
        return None
    if option.kind == "append":
        values[option.dest].append(value)
    else:
        values[option.dest] = value
    return index + 1


def _converted(option: Option, text: str):
    if option.choices is not None and text not in option.choices:
        return None
    if option.type is None:
        return text
    try:
        return option.type(text)
    except Exception:  # noqa: BLE001 - argparse will report it in its own words
        return None
