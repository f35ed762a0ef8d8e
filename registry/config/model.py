"""The typed registry configuration, built from checked values by the `to`
field of each honoured key in the table ("http.addr" sets HttpSettings.addr)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from storage_backends.settings import (DriverSettings, FilesystemSettings, InMemorySettings,
                                       S3Settings, StorageSettings)

from .operations import DebugSettings, HealthSettings, NotificationSettings, OpsSettings
from .proxy import ProxySettings, build_proxy
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
class GcPolicy:
    """`storage.maintenance.gc`: online garbage collection. The schedule is
    off unless enabled; the writers' clock (touch_age, commit_window, lease)
    applies whether or not this process collects, and every replica and
    `pyreg gc` over one storage must share it."""
    enabled: bool = False
    interval: float = 24 * 3600.0
    grace: float = 3600.0
    delete_untagged: bool = False
    dry_run: bool = False
    touch_age: float = 600.0
    commit_window: float = 60.0
    lease: float = 60.0


@dataclass(frozen=True)
class TlsSettings:
    certificate: str | None = None
    key: str | None = None
    minimum: str = "tls1.2"
    clientcas: tuple[str, ...] = ()    # mutual TLS: a client certificate signed by one of these


@dataclass(frozen=True)
class AuthSettings:
    """Distribution's `auth` section: one scheme and its keys, as it names them
    (registry/auth/setup.py builds the access controller from them)."""
    scheme: str                        # "htpasswd" or "token"
    options: Mapping[str, Any]


@dataclass(frozen=True)
class TokenServerSettings:
    """`pyreg.tokenserver`: the built-in token issuer."""
    key_dir: str
    htpasswd: str | None = None        # users; robots come from the storage
    rules: str | None = None           # the access-rules file
    lifetime: float = 300.0            # seconds an access token lives
    refresh_lifetime: float = 30 * 86400.0
    algorithm: str = "ES256"
    path: str = "/token"
    service: str | None = None         # default: auth.token.service
    issuer: str | None = None          # default: auth.token.issuer


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
    gc: GcPolicy = field(default_factory=GcPolicy)
    delete_enabled: bool = True
    read_only: bool = False
    automatic_mount: bool = True       # ?mount= without from= finds the blob elsewhere
    auth: AuthSettings | None = None
    token_server: TokenServerSettings | None = None
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    debug: DebugSettings = field(default_factory=DebugSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    ops: OpsSettings = field(default_factory=OpsSettings)
    proxy: ProxySettings | None = None  # the pull-through cache's upstreams
    warnings: tuple[str, ...] = ()     # one line per no-effect key, for the command line


_SECTIONS: dict[str, type] = {"filesystem": FilesystemSettings, "s3": S3Settings}


def build_config(values: Mapping[str, Any], warnings: list[str] = ()) -> RegistryConfig:
    fields: dict[str, dict[str, Any]] = defaultdict(dict)
    for name, value in values.items():
        target = KEYS[name].to
        if target is not None:
            section, attribute = target.split(".")
            fields[section][attribute] = value
    auth = _auth(values, fields)
    return RegistryConfig(
        http=HttpSettings(tls=TlsSettings(**fields["tls"]), **fields["http"]),
        storage=StorageSettings(driver=_driver(values, fields), **fields["storage"]),
        log=LogSettings(**fields["log"]), upload_purging=PurgePolicy(**fields["purge"]),
        notifications=NotificationSettings(**fields["notifications"]), debug=DebugSettings(**fields["debug"]),
        health=HealthSettings(**fields["health"]), ops=OpsSettings(**fields["ops"]),
        gc=GcPolicy(**fields["gc"]),
        warnings=tuple(warnings), auth=auth, token_server=_token_server(values, fields, auth),
        proxy=build_proxy(fields["proxy"]),
        **fields["registry"])


def _chosen(values: Mapping[str, Any], section: str, what: str) -> str | None:
    """The one alternative of `section` the configuration names (with its
    required keys present), or None."""
    chosen = [name for name in values if KEYS[name].choice and name.startswith(f"{section}.")]
    if len(chosen) > 1:
        raise ConfigError(f"more than one {what} configured: {', '.join(chosen)}")
    if not chosen:
        return None
    _require(values, chosen[0])
    return chosen[0].split(".")[1]


def _require(values: Mapping[str, Any], section: str) -> None:
    for key in KEYS.values():
        if key.required and key.name.startswith(f"{section}.") and key.name not in values:
            raise ConfigError(f"{key.name} is required")


def _driver(values: Mapping[str, Any], fields: Mapping[str, dict]) -> DriverSettings:
    name = _chosen(values, "storage", "storage driver")
    if name is None:
        return FilesystemSettings()
    if name == "inmemory":
        return InMemorySettings()
    return _SECTIONS[name](**fields[name])


def _auth(values: Mapping[str, Any], fields: Mapping[str, dict]) -> AuthSettings | None:
    name = _chosen(values, "auth", "auth method")
    if name is None or name == "none":
        return None
    return AuthSettings(name, dict(fields[name]))


def _token_server(values: Mapping[str, Any], fields: Mapping[str, dict],
                  auth: AuthSettings | None) -> TokenServerSettings | None:
    """The built-in issuer, whose service and issuer are the validator's
    unless set: tokens it signs must be the ones the registry accepts."""
    chosen = fields["tokenserver"]
    if not chosen:
        return None
    _require(values, "pyreg.tokenserver")
    if auth is not None and auth.scheme != "token":
        raise ConfigError("pyreg.tokenserver issues tokens: it needs auth.token, "
                          f"not auth.{auth.scheme}")
    settings = TokenServerSettings(**chosen)
    if not settings.path or settings.path == "/v2" or settings.path.startswith("/v2/"):
        raise ConfigError("pyreg.tokenserver.path must be a path outside /v2, like /token")
    for name in ("service", "issuer"):
        validated = auth.options[name] if auth is not None else None
        given = getattr(settings, name)
        if given is not None and validated is not None and given != validated:
            raise ConfigError(f"pyreg.tokenserver.{name} {given!r} differs from auth.token.{name} "
                              f"{validated!r}: the registry would refuse every token")
        if given is None and validated is None:
            raise ConfigError(f"pyreg.tokenserver.{name} is required without auth.token")
        settings = replace(settings, **{name: given or validated})
    return settings
