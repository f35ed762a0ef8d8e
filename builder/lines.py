"""A Dockerfile's text as logical lines, as BuildKit's parser reads it.

Parser directives (`# escape=`, `# syntax=`, `# check=`) count only at the top:
the first line that is not a known directive (a comment, a blank line, an
instruction, an unknown directive) ends them. Comment lines are dropped, also
inside a continuation; a line ending in the escape character continues on the
next one, and the pieces are joined without adding anything in between.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BuildError

_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
# `syntax` picks a BuildKit frontend image and `check` configures its linter:
# neither changes what pyreg builds, so both are accepted and ignored.
_KNOWN_DIRECTIVES = ("escape", "syntax", "check")
_BOM = "\ufeff"


@dataclass(frozen=True)
class LogicalLine:
    text: str        # the instruction with its continuations joined
    start: int       # 1-based line numbers in the file
    end: int


@dataclass(frozen=True)
class SplitFile:
    escape: str
    directives: dict[str, str]
    lines: tuple[LogicalLine, ...]


class _Directives:
    def __init__(self, file: str):
        self.file = file
        self.done = False
        self.values: dict[str, str] = {}

    def offer(self, text: str, number: int) -> None:
        if self.done:
            return
        match = _DIRECTIVE.match(text)
        name = match.group(1).lower() if match else ""
        if name not in _KNOWN_DIRECTIVES:
            self.done = True
            return
        if name in self.values:
            raise BuildError.at(self.file, number, "", f"only one {name} parser directive can be used")
        value = match.group(2)
        if name == "escape" and value not in ("\\", "`"):
            raise BuildError.at(self.file, number, "",
                                f"invalid escape token {value!r} does not match ` or \\")
        self.values[name] = value


def _is_comment(raw: str) -> bool:
    return raw.lstrip().startswith("#")


def split_lines(text: str, file: str = "Dockerfile") -> SplitFile:
    """Directives and logical lines; raises BuildError for a bad directive."""
    physical = text.removeprefix(_BOM).split("\n")
    directives = _Directives(file)
    continuation: re.Pattern | None = None
    result: list[LogicalLine] = []
    index = 0
    while index < len(physical):
        raw = physical[index].rstrip("\r")
        index += 1
        directives.offer(raw.lstrip(), index)
        if _is_comment(raw):
            continue
        if continuation is None:  # directives are over: the escape character is known
            continuation = _continuation_pattern(directives.values.get("escape", "\\"))
        line, ended = _trim_continuation(raw.lstrip(), continuation)
        start = index
        if ended and not line.strip():
            continue
        while not ended and index < len(physical):
            raw = physical[index].rstrip("\r")
            index += 1
            if _is_comment(raw) or not raw.strip():
                continue  # comment and empty lines inside a continuation, as BuildKit
            piece, ended = _trim_continuation(raw, continuation)
            line += piece
        result.append(LogicalLine(line, start, index))
    escape = directives.values.get("escape", "\\")
    return SplitFile(escape, dict(directives.values), tuple(result))


def _continuation_pattern(escape: str) -> re.Pattern:
    return re.compile(re.escape(escape) + r"[ \t]*$")


def _trim_continuation(line: str, pattern: re.Pattern) -> tuple[str, bool]:
    """(line without its continuation mark, whether the instruction ends here)."""
    match = pattern.search(line)
    if match is None:
        return line, True
    return line[:match.start()], False
