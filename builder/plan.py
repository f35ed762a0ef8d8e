"""The stage graph of a Dockerfile and what a target needs built: a plan, no
execution.

A FROM names an earlier stage (by its AS name), `scratch`, or an image. A
`COPY --from=` names a stage (by name, or by index), or else an image. Only
the stages the target reaches through those edges are in the plan, ordered so
that every stage comes after the stages it needs; a cycle is an error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ocispec.reference import Reference

from . import instructions as ins
from .errors import BuildError
from .scope import substitute_from
from .shellwords import SubstitutionError, process_word

SCRATCH = "scratch"


@dataclass(frozen=True)
class Source:
    """Where a FROM or a `COPY --from` reads: exactly one of the three."""
    stage: int | None = None
    image: str = ""          # a reference as written (normalized by the puller)
    scratch: bool = False


@dataclass(frozen=True)
class StagePlan:
    stage: ins.Stage
    base: ins.From                       # with the meta args substituted
    base_source: Source
    copy_sources: dict[int, Source] = field(default_factory=dict)   # instruction index -> source

    def needs(self) -> list[int]:
        sources = [self.base_source, *self.copy_sources.values()]
        return [source.stage for source in sources if source.stage is not None]


@dataclass(frozen=True)
class BuildPlan:
    target: int
    stages: tuple[StagePlan, ...]        # dependencies first, the target last

    def images(self) -> list[str]:
        """The images the build reads, each once, in the order they are needed."""
        seen: list[str] = []
        for plan in self.stages:
            for source in (plan.base_source, *plan.copy_sources.values()):
                if source.image and source.image not in seen:
                    seen.append(source.image)
        return seen


def plan_build(dockerfile: ins.Dockerfile, target: str | None,
               meta_lookup: Callable[[str], str | None]) -> BuildPlan:
    stages = dockerfile.stages
    plans = [_stage_plan(dockerfile, stage, meta_lookup) for stage in stages]
    target_index = _target_index(stages, target)
    order: list[int] = []
    _visit(target_index, plans, order, visiting=[])
    return BuildPlan(target_index, tuple(plans[index] for index in order))


def _target_index(stages: tuple[ins.Stage, ...], target: str | None) -> int:
    if target is None:
        return len(stages) - 1
    for stage in stages:
        if stage.name == target.lower():
            return stage.index
    names = ", ".join(s.name for s in stages if s.name) or "none"
    raise BuildError(f"target stage {target!r} could not be found (named stages: {names})")


def _visit(index: int, plans: list[StagePlan], order: list[int], visiting: list[int]) -> None:
    if index in order:
        return
    if index in visiting:
        raise BuildError(f"circular dependency detected on stage: {plans[index].stage.label}")
    visiting.append(index)
    for needed in plans[index].needs():
        _visit(needed, plans, order, visiting)
    visiting.pop()
    order.append(index)


def _stage_plan(dockerfile: ins.Dockerfile, stage: ins.Stage, lookup) -> StagePlan:
    base = substitute_from(stage.base, lookup, dockerfile.escape)
    if not base.image:
        raise _error(base, "the image name is empty after substitution")
    earlier = {s.name: s.index for s in dockerfile.stages[:stage.index] if s.name}
    if base.image.lower() in earlier:
        base_source = Source(stage=earlier[base.image.lower()])
    elif base.image == SCRATCH:
        base_source = Source(scratch=True)
    else:
        base_source = Source(image=_image(base, base.image))
    copies = {}
    for position, instruction in enumerate(stage.instructions):
        if isinstance(instruction, ins.Copy) and instruction.from_:
            copies[position] = _copy_source(dockerfile, stage, instruction, lookup)
    return StagePlan(stage, base, base_source, copies)


def _copy_source(dockerfile: ins.Dockerfile, stage: ins.Stage, instruction: ins.Copy,
                 lookup) -> Source:
    try:
        name = process_word(instruction.from_, lookup, dockerfile.escape)
    except SubstitutionError as err:
        raise _error(instruction, str(err)) from None
    count = len(dockerfile.stages)
    if name.isdigit():
        index = int(name)
        if index >= count:
            raise _error(instruction, f"--from={name}: invalid stage index {index} "
                                      f"(the Dockerfile has {count} stages)")
    else:
        named = {s.name: s.index for s in dockerfile.stages if s.name}
        index = named.get(name.lower())
        if index is None:
            return Source(image=_image(instruction, name))
    if index == stage.index:
        raise _error(instruction, f"--from={name} names the stage this instruction is in")
    return Source(stage=index)


def _image(instruction: ins.Instruction, text: str) -> str:
    try:
        Reference.parse(text)
    except ValueError as err:
        raise _error(instruction, f"{text!r} is neither a stage nor a valid image reference: {err}") from None
    return text


def _error(instruction: ins.Instruction, message: str) -> BuildError:
    return BuildError.at(instruction.location.file, instruction.location.start,
                         instruction.keyword, message)
