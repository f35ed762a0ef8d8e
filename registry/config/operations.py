"""The operations part of the configuration: notifications, the debug
listener, the storage health check, metrics and tracing.

    notifications.endpoints, notifications.events.includereferences   registry:2's webhooks
    http.debug.addr, http.debug.prometheus.{enabled,path}              a second listener
    health.storagedriver.{enabled,interval,threshold}                   checked at /debug/health
    pyreg.metrics.enabled          /metrics on the main listener too
    pyreg.tracing.enabled          OpenTelemetry spans (needs the opentelemetry packages)
    pyreg.notifications.queuedir   where undelivered events wait (default: beside the storage)
    pyreg.notifications.queuelimit events kept per endpoint before the oldest are dropped
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# settings.py imports only the standard library; the package's other modules
# (aiohttp and the rest) are loaded only when notifications are configured.
from ..events.settings import EndpointSettings, NotificationsConfigError, NotificationSettings, parse_endpoint
from .values import ConfigError, as_duration

# prometheus_client's multiprocess mode reads its directory from here
# (serving_operations sets it for --workers N; metrics reads it)
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

__all__ = ["DebugSettings", "HealthSettings", "NotificationSettings", "OpsSettings"]


@dataclass(frozen=True)
class DebugSettings:
    addr: str | None = None            # None: no debug listener
    prometheus: bool = False           # /metrics there too
    prometheus_path: str = "/metrics"


@dataclass(frozen=True)
class HealthSettings:
    """Distribution's defaults: every 10 s, unhealthy at the first failure."""
    storage_enabled: bool = False
    storage_interval: float = 10.0
    storage_threshold: int = 0         # failures in a row before unhealthy; 0 counts as 1


@dataclass(frozen=True)
class OpsSettings:
    metrics: bool = False
    tracing: bool = False
    events_dir: str | None = None
    events_limit: int = 10_000

    def wants_metrics(self, debug: DebugSettings) -> bool:
        return self.metrics or (debug.addr is not None and debug.prometheus)


def as_endpoints(value: Any, key: str) -> tuple[EndpointSettings, ...]:
    """The enabled endpoints of `notifications.endpoints`, checked as Distribution's keys."""
    if not isinstance(value, list):
        raise ConfigError(f"{key} must be a list of endpoints")
    try:
        endpoints = [parse_endpoint(entry, f"{key}[{i}]") for i, entry in enumerate(value)]
    except NotificationsConfigError as error:
        raise ConfigError(str(error)) from None
    enabled = tuple(endpoint for endpoint in endpoints if endpoint is not None)
    names = [endpoint.name for endpoint in enabled]
    if len(names) != len(set(names)):
        raise ConfigError(f"{key}: endpoint names must be unique")
    return enabled


def as_count(value: Any, key: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{key} must be a whole number, not {value!r}")
    return value


def as_positive_duration(value: Any, key: str) -> float:
    seconds = as_duration(value, key)
    if seconds <= 0:
        raise ConfigError(f"{key} must be longer than zero, not {value!r}")
    return seconds
