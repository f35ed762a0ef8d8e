"""Building one stage: its base (scratch, an earlier stage, or an image),
the base's ONBUILD triggers, then its instructions one by one, each
substituted, looked up in the cache or executed, and applied to the config
with its history entry.
"""
from __future__ import annotations

import dataclasses

from ocispec.descriptor import Platform
from puller.errors import PullerError
from runtime.errors import RuntimeFailure, describe

from . import instructions as ins
from . import steps
from .cache import CacheRecord, base_key
from .errors import BuildError
from .imageconfig import StageConfig, created_by, start_config
from .parser import parse_trigger
from .plan import Source, StagePlan
from .scope import StageScope
from .session import Session, StageResult, StageState, snapshots_of
from .view import LayeredTree

# what a step may fail with that a person can act on: each gets its line in the file
STEP_FAILURES = (BuildError, RuntimeFailure, PullerError, OSError)


class Scopes:
    """What every stage's scope starts from: the meta args' values, the
    --build-arg values, the automatic platform args, the escape character."""

    def __init__(self, meta: dict, build_args: dict, automatic: dict, escape: str):
        self.meta, self.build_args, self.automatic, self.escape = meta, build_args, automatic, escape

    def for_stage(self, env: list[str]) -> StageScope:
        return StageScope(env, self.meta, self.build_args, self.automatic, self.escape)


def build_stage(session: Session, plan: StagePlan, scopes: Scopes) -> StageResult:
    state, triggers = _start(session, plan, scopes)
    body = [(instruction, plan.copy_sources.get(position))
            for position, instruction in enumerate(plan.stage.instructions)]
    todo = [(trigger, None) for trigger in triggers] + body
    for number, (instruction, source) in enumerate(todo, 1):
        session.say(f"[{plan.stage.label}] STEP {number}/{len(todo)}: {instruction.original}")
        _step(session, state, instruction, source)
    return state.result(plan.stage.index)


def _platform(session: Session, base: ins.From) -> Platform:
    if not base.platform:
        return session.settings.platform
    try:
        return Platform.parse(base.platform)
    except ValueError as err:
        raise _located(base, err) from None


def _start(session: Session, plan: StagePlan, scopes: Scopes) -> tuple[StageState, list[ins.Instruction]]:
    source, platform = plan.base_source, _platform(session, plan.base)
    session.say(f"[{plan.stage.label}] FROM {plan.base.image}")
    if source.scratch:
        base, layers, key = None, [], base_key()
    elif source.stage is not None:
        done = session.stages[source.stage]
        base, layers, key, platform = done.config, done.layers, base_key(stage_key=done.key), done.platform
    else:
        try:
            image = session.images.image(source.image, platform)
        except STEP_FAILURES as err:
            raise _located(plan.base, err) from None
        base, layers, key = image.config, image.layers, base_key(str(image.digest), str(platform))
    config, expressions = start_config(base, platform)
    scope = scopes.for_stage(config["config"].get("Env") or [])
    state = StageState(plan.stage.label, StageConfig(config), list(layers), key, scope, platform)
    triggers = [parse_trigger(text, f"{plan.base.image} ONBUILD") for text in expressions]
    return state, triggers


def _step(session: Session, state: StageState, raw: ins.Instruction, source: Source | None) -> None:
    try:
        instruction = state.scope.substitute(raw)
        if isinstance(instruction, (ins.Env, ins.Arg)):
            state.scope.apply(instruction)
        record = _execute(session, state, instruction, source)
        state.config.apply(instruction)
        if isinstance(instruction, ins.Workdir):   # the history names where it ends up
            instruction = dataclasses.replace(instruction, value=state.config.workdir)
        history = created_by(instruction, state.config.shell, state.scope.visible_args())
    except STEP_FAILURES as err:
        raise _located(raw, err) from None
    layer = state.add(record)
    state.config.record(history, session.created(record), layer.diff_id if layer else None)


def _execute(session: Session, state: StageState, instruction: ins.Instruction,
             source: Source | None) -> CacheRecord:
    if isinstance(instruction, ins.Run):
        return steps.run(session, state, instruction)
    if isinstance(instruction, ins.Copy):
        if not instruction.from_:
            return steps.copy(session, state, instruction, None, "")
        opener, source_key = _copy_from(session, state, source or _trigger_source(session, instruction))
        return steps.copy(session, state, instruction, opener, source_key)
    if isinstance(instruction, ins.Workdir):
        return steps.workdir(session, state, instruction)
    return session.record_for(session.key(state, instruction), lambda: None)


def _copy_from(session: Session, state: StageState, source: Source):
    """(a function opening the tree `COPY --from` reads, the key it stands for)."""
    if source.stage is not None:
        done = session.stages[source.stage]
        label = f"stage {done.index}"
        return (lambda: LayeredTree(snapshots_of(session, done.layers), label)), done.key
    image = session.images.image(source.image, state.platform)
    return (lambda: LayeredTree(snapshots_of(session, image.layers), image.reference)), \
        str(image.digest)


def _trigger_source(session: Session, instruction: ins.Copy) -> Source:
    """An ONBUILD trigger's `--from`, which the plan did not see: a stage
    built before this one (by name or index), else an image."""
    name = instruction.from_.lower()
    index = int(name) if name.isdigit() else session.stage_names.get(name)
    if index is not None and index in session.stages:
        return Source(stage=index)
    if index is not None or name.isdigit():
        raise BuildError(f"--from={instruction.from_}: that stage is not built before this one")
    return Source(image=instruction.from_)


def _located(instruction: ins.Instruction, err: Exception) -> BuildError:
    if isinstance(err, BuildError) and err.located:
        return err
    where = instruction.location
    return BuildError.at(where.file, where.start, instruction.keyword, describe(err))
