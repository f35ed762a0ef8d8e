"""`.dockerignore` rules with docker's semantics (moby/patternmatcher).

Each line is a pattern, `#` at the very start of a line makes a comment, and
surrounding whitespace is trimmed. Patterns are cleaned like Go's
filepath.Clean and a leading `/` is dropped (paths are relative to the
context). `*` and `?` match within one path element (filepath.Match), `**`
any number of elements, `\\` escapes. A path is excluded when the last
pattern that matches it, or one of its parent directories, is not a `!`
exception.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from .errors import BuildError

_REGEX_SPECIALS = set(".+()|{}$")  # `^` stays: it negates a [class], as in filepath.Match


@dataclass(frozen=True)
class Pattern:
    text: str          # cleaned, without the `!`
    exception: bool
    regex: re.Pattern


def _clean(pattern: str) -> str:
    cleaned = posixpath.normpath(pattern)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if len(cleaned) > 1 and cleaned.startswith("/"):
        cleaned = cleaned[1:]
    return cleaned


def _translate(pattern: str) -> str:
    out = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        position += 1
        if char == "*" and pattern.startswith("*", position):
            position += 1
            if pattern.startswith("/", position):
                position += 1           # `**/` is `**`
            out.append(".*" if position == len(pattern) else "(.*/)?")
        elif char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\":
            if position < len(pattern):
                out.append(re.escape(pattern[position]))
                position += 1
            else:
                out.append("\\\\")
        elif char in _REGEX_SPECIALS:
            out.append("\\" + char)
        else:
            out.append(char)            # `[` and `]` keep their class meaning
    return "".join(out)


class IgnoreRules:
    def __init__(self, patterns: list[Pattern]):
        self.patterns = patterns
        self.has_exceptions = any(p.exception for p in patterns)

    @classmethod
    def parse(cls, text: str, file: str = ".dockerignore") -> "IgnoreRules":
        patterns = []
        for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
            if line.startswith("#"):
                continue
            line = line.strip()
            if not line:
                continue
            exception = line.startswith("!")
            if exception:
                line = line[1:].strip()
            cleaned = _clean(line) if line else line
            try:
                regex = re.compile(_translate(cleaned))
            except re.error as err:
                raise BuildError(f"{file}:{number}: bad pattern {line!r}: {err}") from None
            patterns.append(Pattern(cleaned, exception, regex))
        return cls(patterns)

    def excluded(self, path: str) -> bool:
        """Whether a context-relative path (`a/b/c`, no leading `./`) is excluded."""
        parents = path.split("/")[:-1]
        prefixes = ["/".join(parents[:i]) for i in range(1, len(parents) + 1)]
        matched = False
        for pattern in self.patterns:
            if pattern.exception != matched:
                continue  # an exception only matters once excluded, and the reverse
            if pattern.regex.fullmatch(path) or any(pattern.regex.fullmatch(p) for p in prefixes):
                matched = not pattern.exception
        return matched


NO_RULES = IgnoreRules([])
