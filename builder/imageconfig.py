"""The image config a stage produces: a pure function of the base image's
config and the instructions applied, with docker's rules.

- ENV replaces a variable in place or appends it; LABEL merges.
- CMD and ENTRYPOINT in shell form run through the current SHELL (default
  `/bin/sh -c`); ENTRYPOINT resets a CMD inherited from the base image, not
  one this stage set before it.
- WORKDIR is relative to the previous one; EXPOSE `80`, `80/udp` or a range
  `8000-8010`; VOLUME, USER, STOPSIGNAL, HEALTHCHECK (NONE too), SHELL,
  ONBUILD (recorded; a child build runs them and its image does not keep
  them), MAINTAINER (the deprecated `author`).
- Each instruction adds a history entry; one that writes no layer is marked
  `empty_layer`, as docker does. Times are the build's, or the --timestamp /
  SOURCE_DATE_EPOCH when one is given.
"""
from __future__ import annotations

import copy
import json
import posixpath
import re
import signal
from datetime import datetime, timezone

from ocispec.descriptor import Platform
from ocispec.digest import Digest

from . import instructions as ins
from .errors import BuildError

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/([A-Za-z]+))?$")
_PROTOCOLS = ("tcp", "udp", "sctp")
_HEALTH_FIELDS = (("Interval", "interval"), ("Timeout", "timeout"), ("StartPeriod", "start_period"),
                  ("StartInterval", "start_interval"), ("Retries", "retries"))


def timestamp(seconds: float) -> str:
    """RFC 3339 in UTC, as Go writes it (no fraction for whole seconds)."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def start_config(base: dict | None, platform: Platform) -> tuple[dict, list[str]]:
    """(the stage's starting config, the base's ONBUILD triggers to run).
    `None` is scratch. A config without PATH gets docker's default one."""
    config = copy.deepcopy(base) if base else {
        "architecture": platform.architecture, "os": platform.os,
        "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
    if not base and platform.variant:
        config["variant"] = platform.variant
    settings = config.setdefault("config", {})
    env = settings.get("Env") or []
    if not any(item.startswith("PATH=") for item in env):
        settings["Env"] = [*env, DEFAULT_PATH]
    triggers = list(settings.pop("OnBuild", None) or [])
    config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    config.setdefault("history", [])
    return config, triggers


class StageConfig:
    """The config being built for one stage, one instruction at a time."""

    def __init__(self, config: dict):
        self.config = config
        self.cmd_set = False

    @property
    def settings(self) -> dict:
        return self.config.setdefault("config", {})

    @property
    def shell(self) -> list[str]:
        return list(self.settings.get("Shell") or ins.DEFAULT_SHELL)

    @property
    def workdir(self) -> str:
        return self.settings.get("WorkingDir") or "/"

    def apply(self, instruction: ins.Instruction) -> None:
        """The config effect of an instruction already substituted."""
        handler = _EFFECTS.get(type(instruction))
        if handler is not None:
            handler(self, instruction)

    def record(self, created_by: str, created: str, layer: Digest | None) -> None:
        """The history entry of a step, and its layer's diff_id when it wrote one."""
        entry = {"created": created, "created_by": created_by}
        if layer is None:
            entry["empty_layer"] = True
        else:
            self.config["rootfs"]["diff_ids"].append(str(layer))
        self.config["history"].append(entry)
        self.config["created"] = created

    # effects, one per instruction

    def _env(self, instruction: ins.Env) -> None:
        env = list(self.settings.get("Env") or [])
        for key, value in instruction.pairs:
            item = f"{key}={value}"
            index = next((i for i, old in enumerate(env) if old.partition("=")[0] == key), None)
            if index is None:
                env.append(item)
            else:
                env[index] = item
        self.settings["Env"] = env

    def _set_command(self, key: str, command: ins.Command) -> None:
        argv = command.argv(tuple(self.shell))
        if argv:
            self.settings[key] = argv
        else:
            self.settings.pop(key, None)

    def _cmd(self, instruction: ins.Cmd) -> None:
        self._set_command("Cmd", instruction.command)
        self.cmd_set = True

    def _entrypoint(self, instruction: ins.Entrypoint) -> None:
        self._set_command("Entrypoint", instruction.command)
        if not self.cmd_set:
            self.settings.pop("Cmd", None)

    def _workdir(self, instruction: ins.Workdir) -> None:
        self.settings["WorkingDir"] = posixpath.normpath(posixpath.join(self.workdir, instruction.value))

    def _user(self, instruction: ins.User) -> None:
        self.settings["User"] = instruction.value

    def _expose(self, instruction: ins.Expose) -> None:
        ports = dict(self.settings.get("ExposedPorts") or {})
        for spec in instruction.ports:
            for port in parse_ports(spec):
                ports[port] = {}
        self.settings["ExposedPorts"] = dict(sorted(ports.items()))

    def _volume(self, instruction: ins.Volume) -> None:
        volumes = dict(self.settings.get("Volumes") or {})
        volumes.update({path: {} for path in instruction.paths})
        self.settings["Volumes"] = dict(sorted(volumes.items()))

    def _label(self, instruction: ins.Label) -> None:
        labels = dict(self.settings.get("Labels") or {})
        labels.update(instruction.pairs)
        self.settings["Labels"] = labels

    def _stopsignal(self, instruction: ins.StopSignal) -> None:
        self.settings["StopSignal"] = check_signal(instruction.value)

    def _healthcheck(self, instruction: ins.Healthcheck) -> None:
        health = {"Test": list(instruction.test)}
        for key, name in _HEALTH_FIELDS:
            if getattr(instruction, name):
                health[key] = getattr(instruction, name)
        self.settings["Healthcheck"] = health

    def _onbuild(self, instruction: ins.Onbuild) -> None:
        self.settings["OnBuild"] = [*(self.settings.get("OnBuild") or []), instruction.expression]

    def _shell(self, instruction: ins.Shell) -> None:
        self.settings["Shell"] = list(instruction.args)

    def _maintainer(self, instruction: ins.Maintainer) -> None:
        self.config["author"] = instruction.value


_EFFECTS = {
    ins.Env: StageConfig._env, ins.Cmd: StageConfig._cmd, ins.Entrypoint: StageConfig._entrypoint,
    ins.Workdir: StageConfig._workdir, ins.User: StageConfig._user, ins.Expose: StageConfig._expose,
    ins.Volume: StageConfig._volume, ins.Label: StageConfig._label, ins.StopSignal: StageConfig._stopsignal,
    ins.Healthcheck: StageConfig._healthcheck, ins.Onbuild: StageConfig._onbuild,
    ins.Shell: StageConfig._shell, ins.Maintainer: StageConfig._maintainer,
}


def parse_ports(spec: str) -> list[str]:
    """`80`, `80/udp`, `8000-8010/tcp` (or `ip:host:port`, whose container
    port counts) as ExposedPorts keys."""
    match = _PORT.match(spec.rsplit(":", 1)[-1])
    if match is None:
        raise BuildError(f"EXPOSE {spec}: invalid port, want PORT[-END][/PROTOCOL]")
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    protocol = (match.group(3) or "tcp").lower()
    if protocol not in _PROTOCOLS:
        raise BuildError(f"EXPOSE {spec}: invalid protocol {protocol!r} (tcp, udp or sctp)")
    if not 0 < first <= last <= 65535:
        raise BuildError(f"EXPOSE {spec}: invalid port range")
    return [f"{port}/{protocol}" for port in range(first, last + 1)]


def check_signal(text: str) -> str:
    """STOPSIGNAL takes a number, a name (`SIGTERM`, `TERM`) or SIGRTMIN+n."""
    if text.isdigit() and 0 < int(text) <= signal.SIGRTMAX:
        return text
    name = text.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    realtime = re.fullmatch(r"SIGRT(MIN|MAX)([+-]\d+)?", name)
    if name in signal.Signals.__members__ or realtime:
        return text
    raise BuildError(f"STOPSIGNAL {text}: invalid signal")


def created_by(instruction: ins.Instruction, shell: list[str], args: dict[str, str]) -> str:
    """The history's `created_by` for a substituted instruction, in BuildKit's words."""
    if isinstance(instruction, ins.Run):
        prefix = f"|{len(args)} " + " ".join(f"{k}={v}" for k, v in args.items()) + " " if args else ""
        return f"RUN {prefix}{' '.join(instruction.command.argv(tuple(shell)))} # buildkit"
    render = _RENDER.get(type(instruction))
    if render is None:
        return instruction.original
    return f"{instruction.keyword} {render(instruction, shell)}"


def _pairs(instruction, shell) -> str:
    return " ".join(key if value is None else f"{key}={value}" for key, value in instruction.pairs)


_RENDER = {
    ins.Env: _pairs, ins.Label: _pairs, ins.Arg: _pairs,
    ins.Cmd: lambda i, shell: json.dumps(i.command.argv(tuple(shell))),
    ins.Entrypoint: lambda i, shell: json.dumps(i.command.argv(tuple(shell))),
    ins.Copy: lambda i, shell: " ".join([*i.sources, i.dest]) + " # buildkit",
    ins.Add: lambda i, shell: " ".join([*i.sources, i.dest]) + " # buildkit",
    ins.Workdir: lambda i, shell: i.value,   # the absolute path (stage.py), as BuildKit writes it
    ins.User: lambda i, shell: i.value, ins.StopSignal: lambda i, shell: i.value,
    ins.Expose: lambda i, shell: " ".join(i.ports), ins.Volume: lambda i, shell: json.dumps(list(i.paths)),
}
