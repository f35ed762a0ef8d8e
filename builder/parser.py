"""A Dockerfile's text to typed stages: a pure function, no file access.

    parse_dockerfile(text, "Dockerfile") -> Dockerfile(meta_args, stages)

Only ARG may come before the first FROM (those are the meta args that FROM
lines can use); every stage starts at a FROM. Errors name the file, the line
and the instruction, in one line.
"""
from __future__ import annotations

from . import instructions as ins
from .errors import BuildError
from .keywords import parse_instruction
from .lines import split_lines


def parse_dockerfile(text: str, file: str = "Dockerfile") -> ins.Dockerfile:
    split = split_lines(text, file)
    if not split.lines:
        raise BuildError(f"{file}: the file has no instructions")
    meta_args: list[ins.Arg] = []
    stages: list[tuple[ins.From, list[ins.Instruction]]] = []
    for line in split.lines:
        location = ins.Location(file, line.start, line.end)
        instruction = parse_instruction(line.text, location, split.escape)
        if isinstance(instruction, ins.From):
            stages.append((instruction, []))
        elif stages:
            stages[-1][1].append(instruction)
        elif isinstance(instruction, ins.Arg):
            meta_args.append(instruction)
        else:
            raise BuildError.at(file, line.start, instruction.keyword,
                                "no build stage in current context: "
                                "the first instruction must be FROM (only ARG may precede it)")
    if not stages:
        raise BuildError(f"{file}: no FROM instruction, so there is no stage to build")
    return ins.Dockerfile(file, split.escape, tuple(meta_args), _stages(stages))


def _stages(parsed: list[tuple[ins.From, list[ins.Instruction]]]) -> tuple[ins.Stage, ...]:
    named: dict[str, ins.From] = {}
    stages = []
    for index, (base, body) in enumerate(parsed):
        if base.stage_name:
            if base.stage_name in named:
                first = named[base.stage_name].location.start
                raise BuildError.at(base.location.file, base.location.start, "FROM",
                                    f"duplicate stage name {base.stage_name!r} (first on line {first})")
            named[base.stage_name] = base
        stages.append(ins.Stage(index, base.stage_name, base, tuple(body)))
    return tuple(stages)


def parse_trigger(expression: str, source: str) -> ins.Instruction:
    """An ONBUILD trigger recorded in a base image's config, as the child build
    runs it; `source` names the image in error messages."""
    split = split_lines(expression, source)
    if len(split.lines) != 1:
        raise BuildError(f"{source}: ONBUILD trigger {expression!r} is not one instruction")
    location = ins.Location(source, 1, 1)
    trigger = parse_instruction(split.lines[0].text, location, split.escape)
    if isinstance(trigger, (ins.From, ins.Maintainer, ins.Onbuild)):
        raise BuildError.at(source, 1, trigger.keyword, "not allowed as an ONBUILD trigger")
    return trigger
