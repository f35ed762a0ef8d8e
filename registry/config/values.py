"""Parsers for configuration values: each takes what YAML (or a REGISTRY_*
variable, read as YAML like Distribution does) gave and the key's dotted
name, and returns a typed value or raises ConfigError naming the key."""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping

Parser = Callable[[Any, str], Any]
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")  # longest units first: "200ms"
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


class ConfigError(ValueError):
    """A configuration pyreg will not start with; the message is one line."""


def as_string(value: Any, key: str) -> str:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"{key} must be a string, not {value!r}")


def as_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise ConfigError(f"{key} must be true or false, not {value!r}")


def as_duration(value: Any, key: str) -> float:
    """Seconds in a Go duration ("168h", "1h30m", "90s"); a bare number is seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    parts = _DURATION_RE.findall(text)
    if not text or "".join(number + unit for number, unit in parts) != text:
        raise ConfigError(f"{key} must be a duration like 24h, 90m or 30s, not {value!r}")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def as_addr(value: Any, key: str) -> str:
    text = as_string(value, key)
    parse_addr(text, key)
    return text


def parse_addr(addr: str, key: str = "address") -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"invalid {key} {addr!r}: want HOST:PORT")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def as_size(minimum: int) -> Parser:
    def parse(value: Any, key: str) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{key} must be a number of bytes, not {value!r}")
        if value < minimum:
            raise ConfigError(f"{key} must be at least {minimum} bytes, not {value}")
        return value
    return parse


def as_choice(*choices: str, aliases: Mapping[str, str] | None = None) -> Parser:
    """One of `choices`, matched without regard to case and given back as spelt there."""
    aliases = dict(aliases or {})
    canonical = {choice.lower(): choice for choice in choices}

    def parse(value: Any, key: str) -> str:
        text = as_string(value, key).lower()
        text = aliases.get(text, text)
        if text not in canonical:
            raise ConfigError(f"{key} must be one of {', '.join(choices)}, not {value!r}")
        return canonical[text]
    return parse


def as_strings(value: Any, key: str) -> tuple[str, ...]:
    """A list of strings (one string alone is a list of one)."""
    items = value if isinstance(value, list) else [value]
    return tuple(as_string(item, key) for item in items)


def as_prefix(value: Any, key: str) -> str:
    """A path the API is served under, kept as '/a/b' ('' for the root)."""
    parts = [part for part in as_string(value, key).strip().split("/") if part]
    if not all(re.fullmatch(r"[A-Za-z0-9._~-]+", part) and part not in (".", "..") for part in parts):
        raise ConfigError(f"{key} must be a plain path like /registry/, not {value!r}")
    return "/" + "/".join(parts) if parts else ""


def as_base_url(value: Any, key: str) -> str:
    text = as_string(value, key).rstrip("/")
    if not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", text):
        raise ConfigError(f"{key} must be a URL like https://registry.example.com, not {value!r}")
    return text


def as_headers(value: Any, key: str) -> tuple[tuple[str, str], ...]:
    """`Name: [value, ...]` (a single value is accepted too), in order."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} must be a mapping of header names to lists of values")
    headers = []
    for name, values in value.items():
        if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", str(name)):
            raise ConfigError(f"{key}: {name!r} is not a header name")
        for item in values if isinstance(values, list) else [values]:
            text = as_string(item, f"{key}.{name}")
            if "\r" in text or "\n" in text:
                raise ConfigError(f"{key}.{name} must not contain a line break")
            headers.append((str(name), text))
    return tuple(headers)


def as_fields(value: Any, key: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} must be a mapping of field names to values")
    return tuple((str(name), as_string(item, f"{key}.{name}")) for name, item in value.items())


def negated(parse: Parser) -> Parser:
    """For `disable: true` keys that set an `enabled`-style field."""
    return lambda value, key: not parse(value, key)


def as_nothing(value: Any, key: str) -> None:
    """A section that takes no parameters (`inmemory:`)."""
    if value not in (None, {}, ""):
        raise ConfigError(f"{key} takes no parameters")


def as_version(value: Any, key: str) -> str:
    if str(value) != "0.1":
        raise ConfigError(f"{key} must be 0.1 (registry:2's configuration version), not {value!r}")
    return "0.1"
