"""Small value types for the start-up path.

`pyreg run` must start as fast as runc, and importing `dataclasses` (with
`inspect`, `ast` and `dis` behind it) alone costs several milliseconds. A
`Record` subclass lists its fields and defaults in `FIELDS`; it gets keyword
construction, `replace`, equality, repr and `to_json`, which is all the
runtime's values need.
"""
from __future__ import annotations

_MISSING = object()


class Record:
    FIELDS: dict = {}  # name -> default (_MISSING: required)
    __slots__ = ("__dict__",)

    def __init__(self, *args, **kwargs):
        names = list(self.FIELDS)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} fields")
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in self.FIELDS or key in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated field {key!r}")
            values[key] = value
        for name, default in self.FIELDS.items():
            if name not in values:
                if default is _MISSING:
                    raise TypeError(f"{type(self).__name__}: missing field {name!r}")
                values[name] = default() if callable(default) else default
        self.__dict__.update(values)

    def replace(self, **changes):
        return type(self)(**{**self.__dict__, **changes})

    def to_json(self) -> dict:
        return dict(self.__dict__)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __hash__(self) -> int:
        return hash(tuple(repr(v) for v in self.__dict__.values()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({inner})"


REQUIRED = _MISSING
