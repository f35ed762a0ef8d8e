"""The audit line for a refused attempt: who, from where, for what, and why.

Never the secret: only the user name the client sent, cut and escaped so a
crafted name cannot forge a log line. One logger, `pyreg.auth`, so an
operator can route these lines on their own.
"""
from __future__ import annotations

import logging
from typing import Iterable

from .scopes import Scope

log = logging.getLogger("pyreg.auth")


def _printable(value: str | None, limit: int = 80) -> str:
    if value is None:
        return "-"
    text = value[:limit].encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return f'"{text}"' + ("..." if len(value) > limit else "")


def refused(user: str | None, address: str | None, scopes: Iterable[Scope], reason: str,
            level: int = logging.WARNING) -> None:
    log.log(level, "auth refused: user=%s addr=%s scope=%s reason=%s", _printable(user),
            address or "-", _printable(" ".join(str(s) for s in scopes) or None, 300),
            _printable(reason, 200))
