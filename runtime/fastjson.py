"""JSON for the container start path through the standard library's own C
accelerator (`_json`), without importing the `json` package: its pure-Python
layer compiles half a dozen regular expressions at import, about a
millisecond of every `pyreg run`. Same output as `json.dumps` with default
arguments, and `loads` accepts what `json.loads` does for our files; a
malformed document raises ValueError (json.JSONDecodeError is one).
"""
from __future__ import annotations

import _json


def _unsupported(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _constant(name: str) -> float:
    return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


class _DecodeContext:
    """The attributes `_json.make_scanner` reads from a json.JSONDecoder."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_constant)


# markers=None: no check for circular references; ours are plain trees
_encode = _json.make_encoder(None, _unsupported, _json.encode_basestring_ascii, None,
                             ": ", ", ", False, False, True)
_scan = _json.make_scanner(_DecodeContext())
_WHITESPACE = " \t\n\r"


def dumps(value) -> str:
    return "".join(_encode(value, 0))


def loads(text: str | bytes):
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration:
        raise ValueError("not a JSON document") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"extra data after the JSON document at {end}")
    return value


def load_file(path: str):
    """The JSON document in the file at path (OSError, ValueError on failure)."""
    with open(path, "rb") as handle:
        return loads(handle.read())
