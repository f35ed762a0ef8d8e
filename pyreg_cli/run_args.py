"""The options of `run` and `bundle`, declared once, and the one parser that
reads them, without argparse: building argparse's parsers costs more
start-up time than the container itself.

It reads what argparse would make of the same declarations (unique
prefixes of long options, `-eVALUE`, `--env=VALUE`, combined short flags,
negative numbers as values, `--`), so tests hold it against argparse; as
with docker, everything after the image is the command, as it stands.
Errors and help look like argparse's: usage, one line, exit status 2.
"""
from __future__ import annotations

import sys

# patterns, not compiled regexes: compiling costs start-up time even when unused
HOSTNAME_PATTERN = r"^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$"
_SIZE = r"(?i)^(\d+(?:\.\d+)?)([bkmg]?)b?$"
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


class UsageError(Exception):
    """A command line the parser cannot read; the message says why."""


def _is_negative_number(token: str) -> bool:
    """`-1`, `-.5`, `-2.5`: a value, as argparse takes it (without `re`,
    which `pyreg run` does not load)."""
    whole, dot, fraction = token[1:].partition(".")
    if not dot:
        return whole.isdecimal()
    return (whole == "" or whole.isdecimal()) and fraction.isdecimal()


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
        raise UsageError(f"invalid size {text!r} (e.g. 64m, 1g)") from None
    if value < 6 * 1024 * 1024:
        raise UsageError("minimum memory limit allowed is 6MB")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"invalid number {text!r}") from None
    if value <= 0:
        raise UsageError("must be greater than 0")
    return value


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"invalid int value: {text!r}") from None


class Option:
    """One `run`/`bundle` option: its flags, where its value goes, and its
    kind: a flag, a value, or a value that may be given again (append)."""

    def __init__(self, flags: tuple[str, ...], dest: str, kind: str, type=None, choices=None,
                 default=None, metavar=None, help=""):
        self.flags, self.dest, self.kind = flags, dest, kind
        self.type, self.choices, self.default = type, choices, default
        self.metavar, self.help = metavar or dest.upper(), help

    def initial(self):
        return False if self.kind == "flag" else [] if self.kind == "append" else self.default

    def convert(self, text: str):
        if self.choices is not None and text not in self.choices:
            choices = ", ".join(repr(c) for c in self.choices)
            raise UsageError(f"argument {'/'.join(self.flags)}: invalid choice: {text!r} "
                             f"(choose from {choices})")
        try:
            return text if self.type is None else self.type(text)
        except UsageError as err:
            raise UsageError(f"argument {'/'.join(self.flags)}: {err}") from None


NETWORK_HELP = ("bridge (default; PYREG_NETWORK changes it), a network of `pyreg network create`, "
                "none (loopback only) or host")
RUN_OPTIONS = (  # for run and bundle
    Option(("-e", "--env"), "env", "append", metavar="KEY=VALUE"),
    Option(("--env-file",), "env_file", "append", metavar="FILE"),
    Option(("-w", "--workdir"), "workdir", "value", metavar="DIR"),
    Option(("-u", "--user"), "user", "value", metavar="USER[:GROUP]"),
    Option(("--entrypoint",), "entrypoint", "value", metavar="CMD"),
    Option(("-v", "--volume"), "volume", "append", metavar="HOST|NAME:CTR[:ro]",
           help="a bind, a named volume (made on first use), or an anonymous one (-v CTR)"),
    Option(("--mount",), "mount", "append", metavar="type=bind|volume|tmpfs,...",
           help="source=, target=, readonly, tmpfs-size=, tmpfs-mode=, volume-nocopy"),
    Option(("--tmpfs",), "tmpfs", "append", metavar="PATH[:OPTS]",
           help="a tmpfs at PATH (noexec,nosuid,nodev; OPTS such as size=64m,mode=1777)"),
    Option(("--hostname",), "hostname", "value", metavar="NAME"),
    Option(("--read-only",), "read_only", "flag", help="mount the rootfs read-only"),
    Option(("--network", "--net"), "network", "value", metavar="NETWORK", help=NETWORK_HELP),
    Option(("-m", "--memory"), "memory", "value", type=memory_size, metavar="BYTES"),
    Option(("--cpus",), "cpus", "value", type=positive_float),
    Option(("--pids-limit",), "pids_limit", "value", type=integer, metavar="N"),
    Option(("-t", "--tty"), "tty", "flag"),
    Option(("--cap-add",), "cap_add", "append", metavar="CAP", help="add a capability (or ALL)"),
    Option(("--cap-drop",), "cap_drop", "append", metavar="CAP", help="drop a capability (or ALL)"),
    Option(("--userns",), "userns", "value", default="", metavar="auto[:size=N]|keep-id",
           help="auto: root inside is a range of /etc/subuid's ids ('containers' entries)"),
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
    Option(("-p", "--publish"), "publish", "append", metavar="[IP:][HOSTPORT:]PORT[/PROTO]",
           help="publish a container's port on the host"),
    Option(("-P", "--publish-all"), "publish_all", "flag", help="publish the image's exposed ports"),
    Option(("--network-alias",), "network_alias", "append", metavar="NAME",
           help="another name the container has on its network"),
    Option(("--ip",), "ip", "value", metavar="ADDRESS", help="the container's address on its network"),
    Option(("--add-host",), "add_host", "append", metavar="HOST:IP", help="an /etc/hosts entry"),
    Option(("--dns",), "dns", "append", metavar="IP", help="a nameserver for /etc/resolv.conf"),
    Option(("--log-opt",), "log_opt", "append", metavar="KEY=VALUE",
           help="max-size=SIZE (default 10m) and max-file=N (default 2) of the kept output"),
    Option(("--restart",), "restart", "value", default="no", metavar="POLICY",
           help="no, on-failure[:N], always or unless-stopped (honoured with -d)"),
)
HELP = Option(("-h", "--help"), "help", "flag", help="show this help message and exit")


class ParsedArgs:
    """What argparse's Namespace would hold, made without argparse."""

    def __init__(self, **values):
        self.__dict__.update(values)


class VerbParser:
    """The parser of one verb: options, then positionals (the last one,
    `command`, takes everything after the ones before it)."""

    def __init__(self, prog: str, options: tuple[Option, ...], positionals: tuple[str, ...],
                 description: str = ""):
        self.prog, self.options, self.positionals = prog, options, positionals
        self.description = description
        self.by_flag = {flag: o for o in (*options, HELP) for flag in o.flags}

    def parse(self, tokens: list[str], **values) -> ParsedArgs:
        """tokens: what follows the verb; values: what the caller parsed
        before it (--root, --debug). Prints help or an error and raises
        SystemExit as argparse does."""
        try:
            return ParsedArgs(**values, **self._read(list(tokens)))
        except UsageError as err:
            sys.stderr.write(f"{self.usage()}\n{self.prog}: error: {err}\n")
            raise SystemExit(2) from None

    def _read(self, tokens: list[str]) -> dict:
        values = {o.dest: o.initial() for o in self.options}
        index, options_ended, wanted = 0, False, list(self.positionals[:-1])
        while wanted:
            if index >= len(tokens):
                raise UsageError(f"the following arguments are required: "
                                 f"{', '.join([*wanted, self.positionals[-1]])}")
            token = tokens[index]
            if not options_ended and token == "--":
                options_ended, index = True, index + 1
            elif not options_ended and self._looks_like_option(token):
                index = self._option(tokens, index, values)
            else:
                values[wanted.pop(0)] = token
                index += 1
                if not options_ended and tokens[index:index + 1] == ["--"]:
                    options_ended, index = True, index + 1  # argparse's positional takes a `--` after it
        values[self.positionals[-1]] = tokens[index:]
        return values

    def _looks_like_option(self, token: str) -> bool:
        """Whether argparse would read token as an option (known or not)."""
        if len(token) < 2 or not token.startswith("-"):
            return False
        if self._match(token) is not None:
            return True
        return not _is_negative_number(token) and " " not in token

    def _match(self, token: str) -> tuple[Option, str, str | None] | None:
        """(option, flag, the value attached to it or None) for a token
        naming one option: exactly, by `=`, by a unique prefix of a long
        flag, or as a short flag with more after it (`-eX`, `-it`)."""
        if token in self.by_flag:
            return self.by_flag[token], token, None
        name, equals, attached = token.partition("=")
        if equals and name in self.by_flag:
            return self.by_flag[name], name, attached
        if token.startswith("--"):
            found = [flag for flag in self.by_flag if flag.startswith("--") and flag.startswith(name)]
            if len(found) > 1:
                raise UsageError(f"ambiguous option: {name} could match {', '.join(found)}")
            return (self.by_flag[found[0]], found[0], attached if equals else None) if found else None
        if token[:2] in self.by_flag:
            return self.by_flag[token[:2]], token[:2], token[2:]
        return None

    def _option(self, tokens: list[str], index: int, values: dict) -> int:
        """Apply the option(s) at tokens[index]; the index after them."""
        matched = self._match(tokens[index])
        if matched is None:
            raise UsageError(f"unrecognized arguments: {tokens[index]}")
        option, flag, attached = matched
        while option.kind == "flag":
            self._store(option, True, values)
            if attached is None:
                return index + 1
            if attached == "" or flag.startswith("--") or f"-{attached[0]}" not in self.by_flag:
                raise UsageError(f"argument {'/'.join(option.flags)}: ignored explicit argument "
                                 f"{attached!r}")
            flag = f"-{attached[0]}"  # -it: -i, then -t
            option, attached = self.by_flag[flag], attached[1:] or None
        if attached is None:
            following = tokens[index + 1:index + 2]
            if not following or following == ["--"] or self._looks_like_option(following[0]):
                raise UsageError(f"argument {'/'.join(option.flags)}: expected one argument")
            attached, index = following[0], index + 1
        self._store(option, option.convert(attached), values)
        return index + 1

    def _store(self, option: Option, value, values: dict) -> None:
        if option is HELP:
            sys.stdout.write(self.help())
            raise SystemExit(0)
        if option.kind == "append":
            values[option.dest].append(value)
        else:
            values[option.dest] = value

    def usage(self) -> str:
        return f"usage: {self.prog} [options] {' '.join(p.upper() for p in self.positionals[:-1])} " \
               f"[{self.positionals[-1].upper()} ...]"

    def help(self) -> str:
        lines = [self.usage(), "", self.description, "", "options:"]
        for option in (HELP, *self.options):
            value = "" if option.kind == "flag" else f" {option.metavar}"
            names = ", ".join(flag + value for flag in option.flags)
            lines.append(f"  {names:<34} {option.help}".rstrip())
        return "\n".join(lines) + "\n"


RUN_PARSER = VerbParser("pyreg run", RUN_OPTIONS + RUN_ONLY_OPTIONS, ("image", "command"),
                        "Run a command (default: the image's Entrypoint and Cmd) in a new "
                        "container of a local image (pulled when missing).")
BUNDLE_PARSER = VerbParser("pyreg bundle", RUN_OPTIONS, ("image", "directory", "command"),
                           "Write an OCI runtime bundle (config.json + rootfs) to DIRECTORY.")
