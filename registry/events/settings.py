"""registry:2's `notifications` section, parsed once into typed settings:

    notifications:
      events: {includereferences: true}
      endpoints:
        - name: alistener
          disabled: false
          url: https://listener.example.com/event
          headers: {Authorization: [Bearer abc]}
          timeout: 500ms          # Go durations; a bare number is nanoseconds, as in Go
          threshold: 5            # consecutive failures before backing off
          backoff: 1s
          ignoredmediatypes: [application/octet-stream]
          ignore: {mediatypes: [...], actions: [pull]}

Defaults are Distribution's (timeout 1s, threshold 10, backoff 1s). A key
that is not one of these stops start-up with its name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ACTIONS = frozenset({"push", "pull", "mount", "delete"})
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_ENDPOINT_KEYS = {"name", "disabled", "url", "headers", "timeout", "threshold", "backoff",
                  "ignoredmediatypes", "ignore"}


class NotificationsConfigError(ValueError):
    """A notifications setting pyreg cannot honour; the message names the key."""


@dataclass(frozen=True)
class EndpointSettings:
    name: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 1.0
    threshold: int = 10
    backoff: float = 1.0
    ignored_media_types: frozenset[str] = frozenset()
    ignored_actions: frozenset[str] = frozenset()

    def wants(self, event: dict) -> bool:
        if event.get("action") in self.ignored_actions:
            return False
        return event.get("target", {}).get("mediaType") not in self.ignored_media_types


@dataclass(frozen=True)
class NotificationSettings:
    endpoints: tuple[EndpointSettings, ...] = ()
    include_references: bool = False


def parse_duration(value: Any, where: str) -> float:
    """Seconds from a Go duration ("1m30s", "500ms") or a number of nanoseconds."""
    if isinstance(value, bool):
        raise NotificationsConfigError(f"{where} must be a duration such as 500ms, got {value!r}")
    if isinstance(value, (int, float)):
        return value * 1e-9
    text = str(value).strip()
    parts = _DURATION_PART.findall(text)
    if not text or "".join(number + unit for number, unit in parts) != text:
        raise NotificationsConfigError(f"{where} must be a duration such as 500ms, got {value!r}")
    return sum(float(number) * _UNIT[unit] for number, unit in parts)


def _strings(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise NotificationsConfigError(f"{where} must be a list of strings")
    return frozenset(value)


def _headers(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise NotificationsConfigError(f"{where} must map header names to lists of values")
    pairs = []
    for name, values in value.items():
        for item in values if isinstance(values, list) else [values]:
            pairs.append((str(name), str(item)))
    return tuple(pairs)


def _ignore(value: Any, where: str) -> tuple[frozenset[str], frozenset[str]]:
    if value is None:
        return frozenset(), frozenset()
    if not isinstance(value, dict) or set(value) - {"mediatypes", "actions"}:
        raise NotificationsConfigError(f"{where} takes only mediatypes and actions")
    actions = _strings(value.get("actions"), f"{where}.actions")
    if actions - ACTIONS:
        raise NotificationsConfigError(f"{where}.actions: unknown {sorted(actions - ACTIONS)}")
    return _strings(value.get("mediatypes"), f"{where}.mediatypes"), actions


def parse_endpoint(entry: Any, where: str) -> EndpointSettings | None:
    """An endpoint's settings; None when it is disabled."""
    if not isinstance(entry, dict):
        raise NotificationsConfigError(f"{where} must be a mapping")
    unknown = sorted(set(entry) - _ENDPOINT_KEYS)
    if unknown:
        raise NotificationsConfigError(f"{where}.{unknown[0]} is not a notifications endpoint key")
    for required in ("name", "url"):
        if not entry.get(required):
            raise NotificationsConfigError(f"{where}.{required} is required")
    if entry.get("disabled") is True:
        return None
    media_types, actions = _ignore(entry.get("ignore"), f"{where}.ignore")
    threshold = entry.get("threshold", 0)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise NotificationsConfigError(f"{where}.threshold must be a whole number")
    timeout = parse_duration(entry.get("timeout", 0), f"{where}.timeout")
    backoff = parse_duration(entry.get("backoff", 0), f"{where}.backoff")
    return EndpointSettings(
        name=str(entry["name"]), url=str(entry["url"]), headers=_headers(entry.get("headers"), f"{where}.headers"),
        timeout=timeout or 1.0, threshold=threshold or 10, backoff=backoff or 1.0,
        ignored_media_types=_strings(entry.get("ignoredmediatypes"), f"{where}.ignoredmediatypes") | media_types,
        ignored_actions=actions)


def parse_notifications(section: Any) -> NotificationSettings:
    if section is None:
        return NotificationSettings()
    if not isinstance(section, dict) or set(section) - {"endpoints", "events"}:
        unknown = sorted(set(section) - {"endpoints", "events"}) if isinstance(section, dict) else ["(value)"]
        raise NotificationsConfigError(f"notifications.{unknown[0]} is not a notifications key")
    events = section.get("events") or {}
    if not isinstance(events, dict) or set(events) - {"includereferences"}:
        raise NotificationsConfigError("notifications.events takes only includereferences")
    entries = section.get("endpoints") or []
    if not isinstance(entries, list):
        raise NotificationsConfigError("notifications.endpoints must be a list")
    endpoints = [parse_endpoint(entry, f"notifications.endpoints[{i}]") for i, entry in enumerate(entries)]
    names = [endpoint.name for endpoint in endpoints if endpoint is not None]
    if len(names) != len(set(names)):
        raise NotificationsConfigError("notifications.endpoints: names must be unique")
    return NotificationSettings(tuple(e for e in endpoints if e is not None),
                                bool(events.get("includereferences", False)))
