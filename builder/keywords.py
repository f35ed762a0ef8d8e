"""One parse function per Dockerfile instruction, from a logical line's words
and flags to a typed instruction (instructions.py). Messages follow BuildKit's
where it has one."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from . import instructions as ins
from .durations import parse_duration
from .errors import BuildError
from .flags import FlagError, Kind, parse_flags
from .words import NotStringArray, extract_flags, json_array, parse_words, split_keyword, split_whitespace

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
_RESERVED_STAGE_NAMES = ("scratch", "context")
_MINIMUM_INTERVAL_NS = 10**6  # docker refuses healthcheck durations under 1ms
_ONBUILD_PREFIX = re.compile(r"^\s*ONBUILD\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Request:
    keyword: str          # upper case
    flag_words: list[str]
    rest: str             # the text after the flags
    location: ins.Location
    original: str
    escape: str

    def error(self, message: str) -> BuildError:
        return BuildError.at(self.location.file, self.location.start, self.keyword, message)

    def flags(self, spec: dict[str, Kind]) -> dict:
        try:
            return parse_flags(self.flag_words, spec)
        except FlagError as err:
            raise self.error(str(err)) from None

    def command(self, allow_empty_json: bool = True) -> ins.Command:
        """The exec form when the text is a JSON array of strings, else the shell form."""
        args = self.json_or_none()
        if args is not None and (args or allow_empty_json):
            return ins.Command(tuple(args), True)
        if args is None and self.rest:
            return ins.Command((self.rest,), False)
        raise self.error(f"{self.keyword} requires at least one argument")

    def json_or_none(self) -> list[str] | None:
        try:
            return json_array(self.rest)
        except NotStringArray as err:
            raise self.error(str(err)) from None

    def json_or_words(self) -> list[str]:
        args = self.json_or_none()
        return args if args is not None else split_whitespace(self.rest)

    def at_least_one(self, words: list) -> list:
        if not words:
            raise self.error(f"{self.keyword} requires at least one argument")
        return words

    def one_string(self) -> str:
        self.flags({})
        if not self.rest:
            raise self.error(f"{self.keyword} requires exactly one argument")
        return self.rest

    def base(self) -> dict:
        return {"location": self.location, "original": self.original}


def parse_instruction(text: str, location: ins.Location, escape: str) -> ins.Instruction:
    keyword, rest = split_keyword(text)
    flag_words, rest = extract_flags(rest)
    request = Request(keyword.upper(), flag_words, rest.strip(), location, text, escape)
    parse = _PARSERS.get(request.keyword)
    if parse is None:
        raise BuildError.at(location.file, location.start, "", f"unknown instruction: {keyword}")
    return parse(request)


def _from(request: Request) -> ins.From:
    flags = request.flags({"platform": "string"})
    words = split_whitespace(request.rest)
    name = ""
    if len(words) == 3 and words[1].lower() == "as":
        name = words[2].lower()
        if not _STAGE_NAME.match(name):
            raise request.error(f"invalid name for build stage: {words[2]!r}, "
                                "name can't start with a number or contain symbols")
        if name in _RESERVED_STAGE_NAMES:
            raise request.error(f"{name!r} is reserved and cannot name a build stage")
    elif len(words) != 1:
        raise request.error("FROM requires either one or three arguments (IMAGE [AS NAME])")
    return ins.From(**request.base(), image=words[0], stage_name=name, platform=flags["platform"])


def _run(request: Request) -> ins.Run:
    flags = request.flags({"mount": "list", "network": "string", "security": "string"})
    if flags["mount"]:
        raise request.error("--mount is not supported by pyreg build")
    network = flags["network"] or "default"
    if network not in ("default", "none", "host"):
        raise request.error(f"unsupported network mode {network!r} (default, none or host)")
    security = flags["security"] or "sandbox"
    if security != "sandbox":
        raise request.error(f"--security={security} is not supported by pyreg build")
    return ins.Run(**request.base(), command=request.command(allow_empty_json=False),
                   network=network, security=security)


def _cmd(request: Request) -> ins.Cmd:
    request.flags({})
    return ins.Cmd(**request.base(), command=request.command())


def _entrypoint(request: Request) -> ins.Entrypoint:
    request.flags({})
    return ins.Entrypoint(**request.base(), command=request.command())


def _shell(request: Request) -> ins.Shell:
    request.flags({})
    args = request.json_or_none()
    if args is None:
        raise request.error("SHELL requires the arguments to be in JSON form")
    return ins.Shell(**request.base(), args=tuple(request.at_least_one(args)))


def _name_values(request: Request) -> tuple[tuple[str, str], ...]:
    """ENV and LABEL: `KEY=VALUE...`, or the old `KEY VALUE` (one pair, the
    value being the rest of the line)."""
    request.flags({})
    words = request.at_least_one(parse_words(request.rest, request.escape))
    if "=" not in words[0]:
        parts = request.rest.split(None, 1)
        if len(parts) < 2:
            raise request.error(f"{request.keyword} must have two arguments")
        return ((parts[0], parts[1]),)
    pairs = []
    for word in words:
        if "=" not in word:
            raise request.error(f"syntax error - can't find = in {word!r}. Must be of the form: name=value")
        key, _, value = word.partition("=")
        if not key:
            raise request.error(f"{request.keyword} names can not be blank")
        pairs.append((key, value))
    return tuple(pairs)


def _env(request: Request) -> ins.Env:
    return ins.Env(**request.base(), pairs=_name_values(request))


def _label(request: Request) -> ins.Label:
    return ins.Label(**request.base(), pairs=_name_values(request))


def _arg(request: Request) -> ins.Arg:
    request.flags({})
    pairs = []
    for word in request.at_least_one(parse_words(request.rest, request.escape)):
        key, has_value, value = word.partition("=")
        if not key:
            raise request.error("ARG names can not be blank")
        pairs.append((key, value if has_value else None))
    return ins.Arg(**request.base(), pairs=tuple(pairs))


def _expose(request: Request) -> ins.Expose:
    request.flags({})
    return ins.Expose(**request.base(), ports=tuple(request.at_least_one(split_whitespace(request.rest))))


def _volume(request: Request) -> ins.Volume:
    request.flags({})
    return ins.Volume(**request.base(), paths=tuple(request.at_least_one(request.json_or_words())))


def _one_string(kind: type[ins.OneString]):
    def parse(request: Request) -> ins.OneString:
        return kind(**request.base(), value=request.one_string())
    return parse


def _copy(request: Request) -> ins.Copy:
    flags = request.flags({"from": "string", "chown": "string", "chmod": "string", "link": "bool"})
    sources, dest = _sources_and_dest(request)
    return ins.Copy(**request.base(), sources=sources, dest=dest, from_=flags["from"],
                    chown=flags["chown"], chmod=flags["chmod"], link=flags["link"])


def _add(request: Request) -> ins.Add:
    flags = request.flags({"chown": "string", "chmod": "string", "link": "bool",
                           "checksum": "string", "keep-git-dir": "bool"})
    for remote_only in ("checksum", "keep-git-dir"):
        if flags[remote_only]:
            raise request.error(f"--{remote_only} applies to URLs and git sources, "
                                "which pyreg build does not fetch")
    sources, dest = _sources_and_dest(request)
    return ins.Add(**request.base(), sources=sources, dest=dest, chown=flags["chown"],
                   chmod=flags["chmod"], link=flags["link"])


def _sources_and_dest(request: Request) -> tuple[tuple[str, ...], str]:
    words = request.json_or_words()
    if len(words) < 2:
        raise request.error(f"{request.keyword} requires at least two arguments (SOURCE... DEST)")
    return tuple(words[:-1]), words[-1]


def _healthcheck(request: Request) -> ins.Healthcheck:
    parts = request.at_least_one(request.rest.split(None, 1))
    kind, rest = parts[0].upper(), (parts[1].strip() if len(parts) > 1 else "")
    if kind == "NONE":
        if rest or request.flag_words:
            raise request.error("HEALTHCHECK NONE takes no arguments")
        return ins.Healthcheck(**request.base(), test=("NONE",))
    flags = request.flags({"interval": "string", "timeout": "string", "start-period": "string",
                           "start-interval": "string", "retries": "string"})
    if kind != "CMD":
        raise request.error(f"unknown type {kind!r} in HEALTHCHECK (try CMD)")
    if not rest:
        raise request.error("missing command after HEALTHCHECK CMD")
    payload = Request(request.keyword, [], rest, request.location, request.original, request.escape)
    command = payload.command(allow_empty_json=False)
    test = ("CMD", *command.args) if command.exec_form else ("CMD-SHELL", command.args[0])
    durations = {name.replace("-", "_"): _interval(request, name, flags[name])
                 for name in ("interval", "timeout", "start-period", "start-interval")}
    return ins.Healthcheck(**request.base(), test=test, retries=_retries(request, flags["retries"]),
                           **durations)


def _interval(request: Request, name: str, text: str) -> int:
    if not text:
        return 0
    try:
        value = parse_duration(text)
    except ValueError as err:
        raise request.error(f"--{name}: {err}") from None
    if 0 < value < _MINIMUM_INTERVAL_NS or value < 0:
        raise request.error(f"--{name} cannot be less than 1ms")
    return value


def _retries(request: Request, text: str) -> int:
    if not text:
        return 0
    try:
        retries = int(text, 10)
    except ValueError:
        raise request.error(f"--retries: invalid number {text!r}") from None
    if retries < 0:
        raise request.error(f"--retries cannot be negative ({retries})")
    return retries


def _onbuild(request: Request) -> ins.Onbuild:
    request.flags({})
    if not request.rest:
        raise request.error("ONBUILD requires at least one argument")
    trigger_keyword = request.rest.split(None, 1)[0].upper()
    if trigger_keyword == "ONBUILD":
        raise request.error("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger_keyword in ("FROM", "MAINTAINER"):
        raise request.error(f"{trigger_keyword} isn't allowed as an ONBUILD trigger")
    trigger = parse_instruction(request.rest, request.location, request.escape)
    expression = _ONBUILD_PREFIX.sub("", request.original, count=1)
    return ins.Onbuild(**request.base(), expression=expression, trigger=trigger)


_PARSERS: dict[str, Callable[[Request], ins.Instruction]] = {
    "FROM": _from, "RUN": _run, "CMD": _cmd, "ENTRYPOINT": _entrypoint, "SHELL": _shell,
    "ENV": _env, "LABEL": _label, "ARG": _arg, "EXPOSE": _expose, "VOLUME": _volume,
    "USER": _one_string(ins.User), "WORKDIR": _one_string(ins.Workdir),
    "STOPSIGNAL": _one_string(ins.StopSignal), "MAINTAINER": _one_string(ins.Maintainer),
    "COPY": _copy, "ADD": _add, "HEALTHCHECK": _healthcheck, "ONBUILD": _onbuild,
}
