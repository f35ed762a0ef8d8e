"""The typed instructions of a Dockerfile, as parsed: nothing here is
substituted yet (see scope.py), so each value is the Dockerfile's text with
its quotes still in place where docker's substitution would remove them."""
from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_SHELL = ("/bin/sh", "-c")


@dataclass(frozen=True)
class Location:
    file: str
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.file}:{self.start}"


@dataclass(frozen=True)
class Command:
    """The payload of RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD: the JSON (exec)
    form's strings, or the shell form's one string."""
    args: tuple[str, ...]
    exec_form: bool

    def argv(self, shell: tuple[str, ...] = DEFAULT_SHELL) -> list[str]:
        return list(self.args) if self.exec_form else [*shell, *self.args]


@dataclass(frozen=True)
class Instruction:
    location: Location = field(compare=False)
    original: str = field(compare=False)  # the logical line, continuations joined

    keyword = ""


@dataclass(frozen=True)
class From(Instruction):
    image: str = ""
    stage_name: str = ""   # lower-cased, as docker compares stage names
    platform: str = ""
    keyword = "FROM"


@dataclass(frozen=True)
class Run(Instruction):
    command: Command = Command((), False)
    network: str = "default"   # default | none | host
    security: str = "sandbox"
    keyword = "RUN"


@dataclass(frozen=True)
class Cmd(Instruction):
    command: Command = Command((), True)
    keyword = "CMD"


@dataclass(frozen=True)
class Entrypoint(Instruction):
    command: Command = Command((), True)
    keyword = "ENTRYPOINT"


@dataclass(frozen=True)
class Shell(Instruction):
    args: tuple[str, ...] = ()
    keyword = "SHELL"


@dataclass(frozen=True)
class Env(Instruction):
    pairs: tuple[tuple[str, str], ...] = ()
    keyword = "ENV"


@dataclass(frozen=True)
class Label(Instruction):
    pairs: tuple[tuple[str, str], ...] = ()
    keyword = "LABEL"


@dataclass(frozen=True)
class Arg(Instruction):
    pairs: tuple[tuple[str, str | None], ...] = ()   # None: declared without a default
    keyword = "ARG"


@dataclass(frozen=True)
class Expose(Instruction):
    ports: tuple[str, ...] = ()
    keyword = "EXPOSE"


@dataclass(frozen=True)
class Volume(Instruction):
    paths: tuple[str, ...] = ()
    keyword = "VOLUME"


@dataclass(frozen=True)
class OneString(Instruction):
    """An instruction whose argument is one string: the user of USER, the
    path of WORKDIR, the signal of STOPSIGNAL, the name of MAINTAINER."""
    value: str = ""


class User(OneString):
    keyword = "USER"


class Workdir(OneString):
    keyword = "WORKDIR"


class StopSignal(OneString):
    keyword = "STOPSIGNAL"


class Maintainer(OneString):
    keyword = "MAINTAINER"


@dataclass(frozen=True)
class Copy(Instruction):
    sources: tuple[str, ...] = ()
    dest: str = ""
    from_: str = ""        # a stage name, a stage index or an image; "" is the context
    chown: str = ""
    chmod: str = ""
    link: bool = False
    keyword = "COPY"


@dataclass(frozen=True)
class Add(Copy):
    keyword = "ADD"


@dataclass(frozen=True)
class Healthcheck(Instruction):
    """`test` is docker's HealthConfig.Test: ("NONE",), ("CMD", arg...) or
    ("CMD-SHELL", command). Durations are nanoseconds, 0 for the default."""
    test: tuple[str, ...] = ()
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0
    keyword = "HEALTHCHECK"


@dataclass(frozen=True)
class Onbuild(Instruction):
    expression: str = ""            # recorded in the image config as written
    trigger: Instruction | None = None
    keyword = "ONBUILD"


@dataclass(frozen=True)
class Stage:
    index: int
    name: str                      # "" when the FROM has no AS
    base: From
    instructions: tuple[Instruction, ...]

    @property
    def label(self) -> str:
        return self.name or str(self.index)


@dataclass(frozen=True)
class Dockerfile:
    file: str
    escape: str
    meta_args: tuple[Arg, ...]     # the ARGs before the first FROM
    stages: tuple[Stage, ...]
