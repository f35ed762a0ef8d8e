"""Variable substitution with the shell-like rules of docker's lexer
(BuildKit's frontend/dockerfile/shell): quotes and escapes are processed,
`$VAR`, `${VAR}` and the modifiers `${VAR:-word}`, `${VAR-word}`,
`${VAR:+word}`, `${VAR+word}`, `${VAR:?message}` and `${VAR?message}`.

`process_word` gives one string (whitespace is kept); `process_words` splits
on unquoted whitespace after substitution, as EXPOSE needs (`EXPOSE $PORTS`).
No command is ever run: `$(...)` and backquotes are plain text here.
"""
from __future__ import annotations

from typing import Callable, Mapping

from .errors import BuildError

_SPECIAL_PARAMETERS = "@*#?-$!0"


class SubstitutionError(BuildError):
    pass


class _Words:
    """The words of the result as they are built: substituted text splits on
    whitespace, quoted and escaped text never does."""

    def __init__(self):
        self.words: list[str] = []
        self.word: list[str] = []
        self.in_word = False

    def add_char(self, char: str) -> None:
        if char.isspace():
            if self.in_word and self.word:
                self.words.append("".join(self.word))
                self.word, self.in_word = [], False
        else:
            self.add_raw(char)

    def add_raw(self, text: str) -> None:
        self.word.append(text)
        self.in_word = True

    def add_expanded(self, text: str) -> None:
        for char in text:
            self.add_char(char)

    def result(self) -> list[str]:
        if self.word:
            self.words.append("".join(self.word))
        return self.words


class _Lexer:
    def __init__(self, text: str, lookup: Callable[[str], str | None], escape: str):
        self.text = text
        self.position = 0
        self.lookup = lookup
        self.escape = escape

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def next(self) -> str:
        char = self.peek()
        self.position += 1 if char else 0
        return char

    def process(self, stop: str = "") -> tuple[str, list[str]]:
        """Up to `stop` (consumed) or the end: (the string, its words)."""
        result: list[str] = []
        words = _Words()
        while (char := self.peek()):
            if stop and char == stop:
                self.next()
                return "".join(result), words.result()
            if char in "'\"$":
                piece = {"'": self.single_quoted, '"': self.double_quoted, "$": self.dollar}[char]()
                result.append(piece)
                words.add_expanded(piece) if char == "$" else words.add_raw(piece)
                continue
            self.next()
            if char == self.escape:
                char = self.next()
                if not char:
                    break  # an escape at the very end is dropped
                words.add_raw(char)
            else:
                words.add_char(char)
            result.append(char)
        if stop:
            raise SubstitutionError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.result()

    def single_quoted(self) -> str:
        self.next()
        start = self.position
        end = self.text.find("'", start)
        if end < 0:
            raise SubstitutionError("unexpected end of statement while looking for matching single-quote")
        self.position = end + 1
        return self.text[start:end]

    def double_quoted(self) -> str:
        self.next()
        result: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise SubstitutionError("unexpected end of statement while looking for matching double-quote")
            if char == '"':
                self.next()
                return "".join(result)
            if char == "$":
                result.append(self.dollar())
                continue
            self.next()
            if char == self.escape:
                following = self.peek()
                if not following:
                    continue
                if following in ('"', "$", self.escape):
                    char = self.next()
            result.append(char)

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            return self.lookup(name) or "" if name else "$"
        self.next()
        if self.peek() == "":
            raise SubstitutionError("syntax error: unterminated ${: missing '}'")
        if self.peek() in "{}:":
            raise SubstitutionError("syntax error: bad substitution")
        name = self.name()
        operator = self.next()
        if operator == "}":
            return self.lookup(name) or ""
        if operator == "":
            raise SubstitutionError(f"syntax error: unterminated ${{{name}: missing '}}'")
        colon = operator == ":"
        if colon:
            operator = self.next()
        if operator not in ("-", "+", "?"):
            raise SubstitutionError(f"unsupported modifier ({':' if colon else ''}{operator}) in substitution")
        return self.modified(name, operator, colon)

    def modified(self, name: str, operator: str, colon: bool) -> str:
        try:
            word, _ = self.process(stop="}")
        except SubstitutionError:
            raise SubstitutionError(f"syntax error: unterminated ${{{name}: missing '}}'") from None
        value = self.lookup(name)
        present = bool(value) if colon else value is not None
        if operator == "-":
            return value if present else word
        if operator == "+":
            return word if present else ""
        if not present:
            qualifier = "unset or empty" if colon else "unset"
            raise SubstitutionError(f"{name}: {word or 'is not allowed to be ' + qualifier}")
        return value

    def name(self) -> str:
        start = self.position
        char = self.peek()
        if char.isdigit():
            while self.peek().isdigit():
                self.next()
            return self.text[start:self.position]
        if char and char in _SPECIAL_PARAMETERS:
            self.next()
            return char
        while (char := self.peek()) and (char.isalnum() or char == "_"):
            self.next()
        return self.text[start:self.position]


def _getter(env: Mapping[str, str] | Callable[[str], str | None]) -> Callable[[str], str | None]:
    return env if callable(env) else env.get


def process_word(text: str, env, escape: str = "\\") -> str:
    """`text` with quotes removed and variables substituted from `env` (a
    mapping or a lookup function returning None for unset)."""
    return _run(text, env, escape)[0]


def process_words(text: str, env, escape: str = "\\") -> list[str]:
    return _run(text, env, escape)[1]


def _run(text: str, env, escape: str) -> tuple[str, list[str]]:
    try:
        return _Lexer(text, _getter(env), escape).process()
    except SubstitutionError as err:
        raise SubstitutionError(f"failed to process {text!r}: {err}") from None
