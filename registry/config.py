"""Registry configuration: the `registry:2` YAML keys pyreg understands,
overridden by REGISTRY_* environment variables like Distribution's
(REGISTRY_HTTP_ADDR, REGISTRY_STORAGE_DELETE_ENABLED, ...).

    http:    addr, tls.certificate, tls.key
    storage: filesystem.rootdirectory | s3.* | inmemory
             delete.enabled, redirect.disable
             maintenance.uploadpurging.{enabled, age, interval, dryrun}
    log:     accesslog.disabled
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

DEFAULT_ADDR = "127.0.0.1:5000"
DEFAULT_ROOT = "./data"
STORAGE_DRIVERS = ("filesystem", "s3", "inmemory")
_STORAGE_OPTIONS = ("delete", "redirect", "maintenance", "cache")


class ConfigError(ValueError):
    pass


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}


@dataclass(frozen=True)
class PurgePolicy:
    """When abandoned upload sessions are deleted (Distribution's defaults)."""
    enabled: bool = True
    age: float = 168 * 3600       # seconds a session may stay idle
    interval: float = 24 * 3600   # seconds between passes
    dry_run: bool = False


@dataclass
class RegistryConfig:
    addr: str = DEFAULT_ADDR
    tls_certificate: str | None = None
    tls_key: str | None = None
    storage: dict[str, Any] = field(default_factory=lambda: {"filesystem": {"rootdirectory": DEFAULT_ROOT}})
    delete_enabled: bool = True
    redirect_disabled: bool = False
    access_log: bool = False
    upload_purging: PurgePolicy = field(default_factory=PurgePolicy)

    @property
    def host_port(self) -> tuple[str, int]:
        return parse_addr(self.addr)

    @property
    def storage_driver(self) -> str:
        return next(iter(self.storage))


def parse_addr(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"invalid address {addr!r}: want HOST:PORT")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def _get(data: Mapping, dotted: str, default: Any = None) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def _as_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise ConfigError(f"{where} must be true or false, not {value!r}")


def parse_duration(value, where: str) -> float:
    """Seconds in a Go-style duration ("168h", "1h30m", "90s") or a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    parts = _DURATION_RE.findall(text)
    if not text or "".join(number + unit for number, unit in parts) != text:
        raise ConfigError(f"{where} must be a duration like 24h or 90m, not {value!r}")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _purge_policy(data: dict) -> PurgePolicy:
    section = _get(data, "storage.maintenance.uploadpurging", {}) or {}
    if not isinstance(section, dict):
        raise ConfigError("storage.maintenance.uploadpurging must be a mapping")
    where = "storage.maintenance.uploadpurging"
    return PurgePolicy(
        enabled=_as_bool(section.get("enabled", True), f"{where}.enabled"),
        age=parse_duration(section.get("age", "168h"), f"{where}.age"),
        interval=parse_duration(section.get("interval", "24h"), f"{where}.interval"),
        dry_run=_as_bool(section.get("dryrun", False), f"{where}.dryrun"))


def apply_environment(data: dict, environ: Mapping[str, str]) -> dict:
    """REGISTRY_A_B_C=value sets a.b.c, as Distribution does."""
    import yaml
    for name in sorted(environ):
        if not name.startswith("REGISTRY_") or name == "REGISTRY_":
            continue
        parts = name[len("REGISTRY_"):].lower().split("_")
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            if not isinstance(node.get(parts[-1]), dict):  # never replace a section by a scalar
                node[parts[-1]] = yaml.safe_load(environ[name]) if environ[name] else ""
    return data


def _storage_section(data: dict) -> dict:
    storage = _get(data, "storage", {}) or {}
    if not isinstance(storage, dict):
        raise ConfigError("storage must be a mapping")
    drivers = {k: v for k, v in storage.items() if k not in _STORAGE_OPTIONS}
    unknown = set(drivers) - set(STORAGE_DRIVERS)
    if unknown:
        raise ConfigError(f"unsupported storage driver {sorted(unknown)[0]!r}")
    if len(drivers) > 1:
        raise ConfigError(f"more than one storage driver configured: {sorted(drivers)}")
    if not drivers:
        return {"filesystem": {"rootdirectory": DEFAULT_ROOT}}
    (driver, params), = drivers.items()
    return {driver: dict(params or {})}


def config_from_dict(data: dict, environ: Mapping[str, str] | None = None) -> RegistryConfig:
    data = apply_environment(dict(data or {}), os.environ if environ is None else environ)
    return RegistryConfig(
        addr=str(_get(data, "http.addr", DEFAULT_ADDR)),
        tls_certificate=_get(data, "http.tls.certificate") or None,
        tls_key=_get(data, "http.tls.key") or None,
        storage=_storage_section(data),
        delete_enabled=_as_bool(_get(data, "storage.delete.enabled", True), "storage.delete.enabled"),
        redirect_disabled=_as_bool(_get(data, "storage.redirect.disable", False),
                                   "storage.redirect.disable"),
        access_log=not _as_bool(_get(data, "log.accesslog.disabled", True), "log.accesslog.disabled"),
        upload_purging=_purge_policy(data))


def load_config(path: str | None = None, environ: Mapping[str, str] | None = None) -> RegistryConfig:
    """Read a registry:2 YAML file (or none) and apply the environment."""
    data: dict = {}
    if path is not None:
        import yaml
        try:
            with open(path, encoding="utf-8") as handle:
                data = yaml.safe_load(handle) or {}
        except OSError as err:
            raise ConfigError(f"cannot read config {path}: {err.strerror}") from None
        except yaml.YAMLError as err:
            raise ConfigError(f"config {path} is not valid YAML: {str(err).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config {path} is not a YAML mapping")
    return config_from_dict(data, environ)
