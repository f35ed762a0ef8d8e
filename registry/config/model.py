"""The typed registry configuration, built from checked values by the `to`
field of each honoured key in the table ("http.addr" sets HttpSettings.addr)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Mapping

from storage_backends.settings import (DriverSettings, FilesystemSettings, InMemorySettings,
                                       S3Settings, StorageSettings)

from .table import KEYS
from .values import ConfigError, parse_addr

DEFAULT_ADDR = "127.0.0.1:5000"


@dataclass(frozen=True)
class PurgePolicy:
    """When abandoned uploads and temporary files are deleted (Distribution's defaults)."""
    enabled: bool = True
    age: float = 168 * 3600       # seconds an upload or temporary file may stay idle
    interval: float = 24 * 3600   # seconds between passes
    dry_run: bool = False


@dataclass(frozen=True)
class TlsSettings:
    certificate: str | None = None
    key: str | None = None
    minimum: str = "tls1.2"


@dataclass(frozen=True)
class HttpSettings:
    addr: str = DEFAULT_ADDR
    prefix: str = ""                   # "/a/b": the API is served at /a/b/v2/
    host: str | None = None            # base URL for Location headers
    relative_urls: bool | None = None  # None: absolute only when `host` is set
    drain_timeout: float = 0.0         # seconds in-flight requests get after SIGTERM
    headers: tuple[tuple[str, str], ...] = ()
    tls: TlsSettings = field(default_factory=TlsSettings)

    @property
    def host_port(self) -> tuple[str, int]:
        return parse_addr(self.addr)


@dataclass(frozen=True)
class LogSettings:
    level: str = "info"
    formatter: str = "text"
    fields: tuple[tuple[str, str], ...] = ()
    access_log_disabled: bool = True  # pyreg's default: access lines cost throughput


@dataclass(frozen=True)
class RegistryConfig:
    http: HttpSettings = field(default_factory=HttpSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    log: LogSettings = field(default_factory=LogSettings)
    upload_purging: PurgePolicy = field(default_factory=PurgePolicy)
    delete_enabled: bool = True
    read_only: bool = False
    automatic_mount: bool = True       # ?mount= without from= finds the blob elsewhere
    warnings: tuple[str, ...] = ()     # one line per no-effect key, for the command line


_SECTIONS: dict[str, type] = {"filesystem": FilesystemSettings, "s3": S3Settings}


def build_config(values: Mapping[str, Any], warnings: list[str] = ()) -> RegistryConfig:
    fields: dict[str, dict[str, Any]] = defaultdict(dict)
    for name, value in values.items():
        target = KEYS[name].to
        if target is not None:
            section, attribute = target.split(".")
            fields[section][attribute] = value
    return RegistryConfig(
        http=HttpSettings(tls=TlsSettings(**fields["tls"]), **fields["http"]),
        storage=StorageSettings(driver=_driver(values, fields), **fields["storage"]),
        log=LogSettings(**fields["log"]), upload_purging=PurgePolicy(**fields["purge"]),
        warnings=tuple(warnings), **fields["registry"])


def _driver(values: Mapping[str, Any], fields: Mapping[str, dict]) -> DriverSettings:
    chosen = [name for name in values if KEYS[name].choice and name.startswith("storage.")]
    if len(chosen) > 1:
        raise ConfigError(f"more than one storage driver configured: {', '.join(chosen)}")
    if not chosen:
        return FilesystemSettings()
    name = chosen[0].split(".")[1]
    if name == "inmemory":
        return InMemorySettings()
    for key in KEYS.values():
        if key.required and key.name.startswith(f"{chosen[0]}.") and key.name not in values:
            raise ConfigError(f"{key.name} is required")
    return _SECTIONS[name](**fields[name])
