"""Splitting an instruction's text the way BuildKit's parser does, before any
variable substitution: leading `--flag=value` words, whitespace-separated
words that keep their quotes (the substitution step removes them), and the
JSON (exec) form that falls back to the shell form when it is not JSON.
"""
from __future__ import annotations

import json
import re

NOT_STRING_ARRAY = "when using JSON array syntax, arrays must be comprised of strings only"
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")


class NotStringArray(ValueError):
    pass


def split_keyword(line: str) -> tuple[str, str]:
    """(instruction keyword, the rest), both stripped."""
    parts = line.strip().split(None, 1)
    return parts[0], (parts[1].strip() if len(parts) > 1 else "")


def extract_flags(rest: str) -> tuple[list[str], str]:
    """Leading `--name[=value]` words (without the dashes) and what follows.
    Quotes and backslashes inside a flag word are taken off; `--` alone ends
    the flags."""
    flags: list[str] = []
    position = 0
    while True:
        while position < len(rest) and rest[position].isspace():
            position += 1
        if not rest.startswith("--", position):
            return flags, rest[position:]
        word, position = _flag_word(rest, position)
        if word == "--":
            return flags, rest[position:].lstrip()
        if word:
            flags.append(word[2:])


def _flag_word(text: str, position: int) -> tuple[str, int]:
    word: list[str] = []
    quote = ""
    while position < len(text):
        char = text[position]
        if not quote and char.isspace():
            break
        position += 1
        if quote and char == quote:
            quote = ""
        elif not quote and char in "'\"":
            quote = char
        elif char == "\\":
            if position < len(text):
                word.append(text[position])
                position += 1
        else:
            word.append(char)
    return "".join(word), position


def parse_words(rest: str, escape: str = "\\") -> list[str]:
    """Whitespace-separated words; quotes group words and are kept, as is an
    escape character with the character it escapes (outside single quotes)."""
    words: list[str] = []
    word: list[str] = []
    quote = ""
    quoted = False  # a word made only of quotes ("") still counts
    position = 0
    while position < len(rest):
        char = rest[position]
        position += 1
        if not quote and char.isspace():
            if word or quoted:
                words.append("".join(word))
            word, quoted = [], False
            continue
        if not quote and char in "'\"":
            quote, quoted = char, True
        elif quote and char == quote:
            quote = ""
        elif char == escape and quote != "'":
            if position == len(rest):
                continue  # an escape at the very end is dropped
            word.append(char)
            char = rest[position]
            position += 1
        word.append(char)
    if word or quoted:
        words.append("".join(word))
    return words


def split_whitespace(rest: str) -> list[str]:
    return [word for word in _WHITESPACE.split(rest) if word]


def json_array(rest: str) -> list[str] | None:
    """The strings of a JSON array, or None when `rest` is not one (the shell
    form then applies). A JSON array holding anything but strings is an error."""
    text = rest.lstrip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise NotStringArray(NOT_STRING_ARRAY)
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")
