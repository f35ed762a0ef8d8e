"""Logging as `log.level`, `log.formatter` (text or json) and `log.fields` say.

Every line goes to stderr. Access lines (when `log.accesslog.disabled` is
false) are written at their own level, so `log.level: error` quiets the
registry's messages without losing the access log, as in Distribution.
"""
from __future__ import annotations

import json
import logging
import sys
import time

from .config import LogSettings

LEVELS = {"error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
ACCESS_LOGGER = "aiohttp.access"


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with logrus's names (time, level, msg)."""

    def __init__(self, fields: tuple[tuple[str, str], ...]):
        super().__init__()
        self._fields = dict(fields)

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                 + f".{int(record.msecs):03d}Z",
                 "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage(),
                 **self._fields, **getattr(record, "fields", {})}  # an access line's own fields
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class TextFormatter(logging.Formatter):
    def __init__(self, fields: tuple[tuple[str, str], ...]):
        super().__init__("%(asctime)s %(name)s %(levelname)s %(message)s")
        self._suffix = "".join(f" {name}={json.dumps(value)}" for name, value in fields)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self._suffix:
            return text
        first, newline, rest = text.partition("\n")  # fields end the line, before a traceback
        return first + self._suffix + newline + rest


def configure_logging(settings: LogSettings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter if settings.formatter == "json" else TextFormatter
    handler.setFormatter(formatter(settings.fields))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[settings.level])
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)
