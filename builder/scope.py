"""ARG and ENV scopes, and which instructions docker substitutes variables in.

- The ARGs before the first FROM (meta args) are visible to FROM lines only;
  a stage sees one when it declares it again (`ARG NAME` without a value).
- A `--build-arg` overrides an ARG's default; an ARG that nothing provides
  is declared but unset. A build arg no ARG declares is not visible, except
  the predefined proxy args, which RUN gets in its environment (and which
  stay out of cache keys and history, as docker keeps them).
- ENV always wins over an ARG of the same name. All pairs of one ENV, LABEL
  or ARG are substituted with the values from before that instruction.
- Substituted: ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR
  ARG. Not: RUN CMD ENTRYPOINT SHELL HEALTHCHECK ONBUILD MAINTAINER (the
  shell, if any, does it at run time).
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping

from ocispec.descriptor import Platform

from . import instructions as ins
from .errors import BuildError
from .shellwords import SubstitutionError, process_word, process_words

PROXY_ARGS = frozenset({"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                        "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"})


def parse_build_args(items: Iterable[str], environ: Mapping[str, str]) -> dict[str, str]:
    """`--build-arg K=V` values; a bare `K` takes the environment's value and
    is dropped when the environment has none, as docker does."""
    values: dict[str, str] = {}
    for item in items:
        key, has_value, value = item.partition("=")
        if not key:
            raise BuildError(f"--build-arg {item!r}: the name is empty")
        if has_value:
            values[key] = value
        elif key in environ:
            values[key] = environ[key]
    return values


def platform_args(target: Platform, build: Platform) -> dict[str, str]:
    """The automatic TARGET* and BUILD* args."""
    values = {}
    for prefix, platform in (("TARGET", target), ("BUILD", build)):
        text = f"{platform.os}/{platform.architecture}" + (f"/{platform.variant}" if platform.variant else "")
        values.update({f"{prefix}PLATFORM": text, f"{prefix}OS": platform.os,
                       f"{prefix}ARCH": platform.architecture, f"{prefix}VARIANT": platform.variant})
    return values


def _located(instruction: ins.Instruction, err: Exception) -> BuildError:
    where = instruction.location
    return BuildError.at(where.file, where.start, instruction.keyword, str(err))


def meta_scope(meta_args: Iterable[ins.Arg], build_args: Mapping[str, str],
               automatic: Mapping[str, str], escape: str = "\\") -> dict[str, str | None]:
    """The global ARGs' values, each default substituted with those before it."""
    values: dict[str, str | None] = {}

    def lookup(name: str) -> str | None:
        return values[name] if name in values else automatic.get(name)
    for instruction in meta_args:
        for key, default in instruction.pairs:
            try:
                key = process_word(key, lookup, escape)
                if key in build_args:
                    values[key] = build_args[key]
                else:
                    values[key] = None if default is None else process_word(default, lookup, escape)
            except SubstitutionError as err:
                raise _located(instruction, err) from None
    return values


def meta_lookup(meta: Mapping[str, str | None], automatic: Mapping[str, str]):
    return lambda name: meta[name] if name in meta else automatic.get(name)


class StageScope:
    """What one stage's instructions see: the image's ENV, then the stage's
    ENV and ARG instructions in order."""

    def __init__(self, image_env: Iterable[str], meta: Mapping[str, str | None],
                 build_args: Mapping[str, str], automatic: Mapping[str, str], escape: str = "\\"):
        self.env: dict[str, str] = {}
        for item in image_env:
            key, _, value = item.partition("=")
            self.env[key] = value
        self.args: dict[str, str | None] = {}
        self.meta = meta
        self.build_args = build_args
        self.automatic = automatic
        self.escape = escape

    def lookup(self, name: str) -> str | None:
        if name in self.env:
            return self.env[name]
        return self.args.get(name)

    def substitute(self, instruction: ins.Instruction) -> ins.Instruction:
        """The instruction with docker's substitution applied, where it applies."""
        rule = _RULES.get(type(instruction))
        if rule is None:
            return instruction
        try:
            return rule(instruction, self.lookup, self.escape)
        except SubstitutionError as err:
            raise _located(instruction, err) from None

    def apply(self, instruction: ins.Instruction) -> None:
        """Record what an already substituted ENV or ARG defines."""
        if isinstance(instruction, ins.Env):
            self.env.update(instruction.pairs)
        elif isinstance(instruction, ins.Arg):
            for key, default in instruction.pairs:
                self.args[key] = self._arg_value(key, default)

    def _arg_value(self, key: str, default: str | None) -> str | None:
        if key in self.build_args:
            return self.build_args[key]
        if default is not None:
            return default
        if self.meta.get(key) is not None:
            return self.meta[key]
        return self.automatic.get(key)

    def visible_args(self) -> dict[str, str]:
        """The declared ARGs that have a value and no ENV hides: what RUN sees
        of the build args, and what its cache key depends on."""
        return {key: value for key, value in sorted(self.args.items())
                if value is not None and key not in self.env}

    def run_environment(self) -> list[str]:
        """RUN's environment: ENV, then visible ARGs, then proxy build args."""
        values = dict(self.env)
        values.update(self.visible_args())
        for key in sorted(PROXY_ARGS & set(self.build_args)):
            values.setdefault(key, self.build_args[key])
        return [f"{key}={value}" for key, value in values.items()]


def _word(lookup, escape):
    return lambda text: process_word(text, lookup, escape)


def _pairs(instruction, lookup, escape):
    word = _word(lookup, escape)
    pairs = tuple((word(key), None if value is None else word(value)) for key, value in instruction.pairs)
    for key, _ in pairs:
        if not key:
            raise SubstitutionError(f"{instruction.keyword} names can not be blank")
    return dataclasses.replace(instruction, pairs=pairs)


def _expose(instruction, lookup, escape):
    ports = tuple(port for text in instruction.ports for port in process_words(text, lookup, escape))
    return dataclasses.replace(instruction, ports=ports)


def _volume(instruction, lookup, escape):
    paths = tuple(_word(lookup, escape)(path) for path in instruction.paths)
    if any(not path.strip() for path in paths):
        raise SubstitutionError("VOLUME specified can not be an empty string")
    return dataclasses.replace(instruction, paths=paths)


def _copy(instruction, lookup, escape):
    word = _word(lookup, escape)
    return dataclasses.replace(instruction, sources=tuple(word(s) for s in instruction.sources),
                               dest=word(instruction.dest), chown=word(instruction.chown),
                               chmod=word(instruction.chmod))


def _one_string(instruction, lookup, escape):
    return dataclasses.replace(instruction, value=_word(lookup, escape)(instruction.value))


def substitute_from(instruction: ins.From, lookup, escape: str = "\\") -> ins.From:
    """A FROM line with the meta args substituted in its image and platform."""
    word = _word(lookup, escape)
    try:
        return dataclasses.replace(instruction, image=word(instruction.image),
                                   platform=word(instruction.platform))
    except SubstitutionError as err:
        raise _located(instruction, err) from None


_RULES = {
    ins.Env: _pairs, ins.Label: _pairs, ins.Arg: _pairs, ins.Expose: _expose, ins.Volume: _volume,
    ins.Copy: _copy, ins.Add: _copy, ins.User: _one_string, ins.Workdir: _one_string,
    ins.StopSignal: _one_string,
}
