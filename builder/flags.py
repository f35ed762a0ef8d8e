"""An instruction's `--name=value` flags, checked as BuildKit's BFlags does:
an unknown flag, a flag given twice or a string flag without a value is an
error, and a bool flag takes `--link`, `--link=true` or `--link=false`."""
from __future__ import annotations

from typing import Literal

Kind = Literal["string", "bool", "list"]


class FlagError(ValueError):
    pass


def parse_flags(words: list[str], spec: dict[str, Kind]) -> dict[str, str | bool | list[str]]:
    """Values by flag name: "" / False / [] for flags not given."""
    values: dict[str, str | bool | list[str]] = {
        name: [] if kind == "list" else (False if kind == "bool" else "") for name, kind in spec.items()}
    seen: set[str] = set()
    for word in words:
        name, has_value, value = word.partition("=")
        kind = spec.get(name)
        if kind is None:
            raise FlagError(f"unknown flag: {name}")
        if name in seen and kind != "list":
            raise FlagError(f"duplicate flag specified: {name}")
        seen.add(name)
        if kind == "bool":
            values[name] = _bool_value(name, value if has_value else "true")
        elif not has_value:
            raise FlagError(f"missing a value on flag: {name}")
        elif kind == "list":
            values[name].append(value)
        else:
            values[name] = value
    return values


def _bool_value(name: str, text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "t"):
        return True
    if lowered in ("false", "0", "f"):
        return False
    raise FlagError(f"expecting boolean value for flag {name}, not: {text}")
