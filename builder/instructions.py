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
    """Each kind of instruction is a class named after its keyword (`keyword`
    is the name in capitals); a few share a base that holds their fields."""
    location: Location = field(compare=False)
    original: str = field(compare=False)  # the logical line, continuations joined

    keyword = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.keyword = cls.__name__.upper()  # a shared base's (PAIRS...) is never parsed


@dataclass(frozen=True)
class From(Instruction):
    image: str = ""
    stage_name: str = ""   # lower-cased, as docker compares stage names
    platform: str = ""


@dataclass(frozen=True)
class Run(Instruction):
    command: Command = Command((), False)
    network: str = "default"   # default | none | host
    security: str = "sandbox"


@dataclass(frozen=True)
class ImageCommand(Instruction):
    """CMD's and ENTRYPOINT's command, kept in the image config."""
    command: Command = Command((), True)


class Cmd(ImageCommand):
    """The container's default command (its arguments, given an ENTRYPOINT)."""


class Entrypoint(ImageCommand):
    """What the container runs, CMD passed to it."""


@dataclass(frozen=True)
class Shell(Instruction):
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pairs(Instruction):
    """ENV's and LABEL's name=value pairs."""
    pairs: tuple[tuple[str, str], ...] = ()


class Env(Pairs):
    """Variables for the steps after it and for the container."""


class Label(Pairs):
    """Labels of the image config."""


@dataclass(frozen=True)
class Arg(Instruction):
    pairs: tuple[tuple[str, str | None], ...] = ()   # None: declared without a default


@dataclass(frozen=True)
class Expose(Instruction):
    ports: tuple[str, ...] = ()


@dataclass(frozen=True)
class Volume(Instruction):
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class OneString(Instruction):
    """An instruction whose argument is one string: the user of USER, the
    path of WORKDIR, the signal of STOPSIGNAL, the name of MAINTAINER."""
    value: str = ""


class User(OneString):
    """`user[:group]` that RUN steps and the container run as."""


class Workdir(OneString):
    """The working directory, relative to the one before."""


class StopSignal(OneString):
    """The signal that stops the container."""


class Maintainer(OneString):
    """The image's author (deprecated by docker, still honoured)."""


@dataclass(frozen=True)
class Copy(Instruction):
    sources: tuple[str, ...] = ()
    dest: str = ""
    from_: str = ""        # a stage name, a stage index or an image; "" is the context
    chown: str = ""
    chmod: str = ""
    link: bool = False


@dataclass(frozen=True)
class Add(Copy):
    """COPY that also fetches URLs and unpacks local archives."""


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


@dataclass(frozen=True)
class Onbuild(Instruction):
    expression: str = ""            # recorded in the image config as written
    trigger: Instruction | None = None


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
