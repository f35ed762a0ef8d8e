"""registry:2 notifications: settings, the event envelope, an on-disk queue
per endpoint and its delivery worker, and the middleware that publishes.

Names are imported on first use: the configuration reads `settings` at
start-up, before aiohttp is loaded, and must not pull in the rest."""
from __future__ import annotations

import importlib

_WHERE = {"StoreLookup": "lookup", "events_middleware": "middleware", "Notifier": "notifier",
          "EndpointSettings": "settings", "NotificationSettings": "settings",
          "NotificationsConfigError": "settings", "parse_notifications": "settings"}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
