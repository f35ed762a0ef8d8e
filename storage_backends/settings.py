"""Typed storage settings: what `factory.make_driver` needs to build a driver.

They are built once, at the edge, by the registry's configuration (which
reads registry:2's `storage:` section and REGISTRY_STORAGE_* variables), and
hold values already checked: the factory does no parsing of its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MiB = 1 << 20
DEFAULT_ROOT = "./data"  # `pyreg serve` with no configuration stores here
S3_MIN_PART_SIZE = 5 * MiB  # S3's minimum for every part but the last


@dataclass(frozen=True)
class FilesystemSettings:
    root_directory: str = DEFAULT_ROOT


@dataclass(frozen=True)
class InMemorySettings:
    pass


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    region: str
    endpoint: str | None = None      # regionendpoint: a URL, or a host completed by `secure`
    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None
    root_directory: str = ""
    part_size: int = 10 * MiB
    secure: bool = True
    skip_verify: bool = False
    force_path_style: bool | None = None  # None: path style exactly when an endpoint is given

    @property
    def endpoint_url(self) -> str | None:
        if self.endpoint and "://" not in self.endpoint:
            return f"{'https' if self.secure else 'http'}://{self.endpoint}"
        return self.endpoint or None


DriverSettings = FilesystemSettings | InMemorySettings | S3Settings


@dataclass(frozen=True)
class StorageSettings:
    """One driver, and whether blob GETs may be redirected to it (registry:2's default)."""
    driver: DriverSettings = field(default_factory=FilesystemSettings)
    redirect: bool = True

    @property
    def driver_name(self) -> str:
        return {FilesystemSettings: "filesystem", InMemorySettings: "inmemory",
                S3Settings: "s3"}[type(self.driver)]
