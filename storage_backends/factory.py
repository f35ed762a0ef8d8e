"""Build a storage driver from a registry:2-style `storage:` mapping, e.g.

    storage:
      filesystem: {rootdirectory: /var/lib/registry}
      # or s3: {bucket, region, regionendpoint, accesskey, secretkey, rootdirectory, chunksize, secure}
      # or inmemory:
      redirect: {disable: false}
      delete: {enabled: true}

Exactly one driver section is allowed; the other top-level sections are
registry settings read elsewhere. Like Distribution, driver parameters this
driver has no use for are ignored. Backends are imported only when chosen,
so a filesystem registry never loads boto3.
"""
from __future__ import annotations

from typing import Any, Callable

from .base import StorageDriver

NOT_DRIVERS = frozenset({"delete", "redirect", "cache", "maintenance", "tag"})
DEFAULT_ROOT = "/var/lib/registry"  # registry:2's default rootdirectory
MiB = 1 << 20


def make_driver(storage_config: dict) -> StorageDriver:
    """The driver a `storage:` mapping describes; ValueError says what is wrong."""
    if not isinstance(storage_config, dict):
        raise ValueError(f"storage config must be a mapping, got {type(storage_config).__name__}")
    names = [name for name in storage_config if name not in NOT_DRIVERS]
    if len(names) != 1:
        found = ", ".join(names) or "none"
        raise ValueError(f"storage config needs exactly one driver ({_supported()}); found: {found}")
    name = names[0]
    builder = _BUILDERS.get(name)
    if builder is None:
        raise ValueError(f"unknown storage driver {name!r} (supported: {_supported()})")
    parameters = storage_config[name] or {}  # `inmemory:` with nothing after it is None in YAML
    if not isinstance(parameters, dict):
        raise ValueError(f"storage.{name} must be a mapping of parameters")
    return builder(parameters, redirect_enabled(storage_config))


def redirect_enabled(storage_config: dict) -> bool:
    """registry:2 redirects blob GETs to the backend unless storage.redirect.disable is true."""
    redirect = storage_config.get("redirect") or {}
    return not _as_bool(redirect.get("disable", False), "storage.redirect.disable")


def _filesystem(parameters: dict, redirect: bool) -> StorageDriver:
    from .filesystem import FilesystemDriver
    return FilesystemDriver(str(parameters.get("rootdirectory") or DEFAULT_ROOT))


def _inmemory(parameters: dict, redirect: bool) -> StorageDriver:
    from .memory import MemoryDriver
    return MemoryDriver()


def _s3(parameters: dict, redirect: bool) -> StorageDriver:
    from .s3 import S3Driver
    for required in ("bucket", "region"):
        if not parameters.get(required):
            raise ValueError(f"storage.s3.{required} is required")
    secure = _as_bool(parameters.get("secure", True), "storage.s3.secure")
    endpoint = parameters.get("regionendpoint") or None
    if endpoint and "://" not in endpoint:
        endpoint = f"{'https' if secure else 'http'}://{endpoint}"
    force_path_style = parameters.get("forcepathstyle")
    return S3Driver(
        bucket=str(parameters["bucket"]), region=str(parameters["region"]), endpoint_url=endpoint,
        access_key=parameters.get("accesskey") or None, secret_key=parameters.get("secretkey") or None,
        root_directory=str(parameters.get("rootdirectory") or ""), redirect=redirect,
        part_size=_as_size(parameters.get("chunksize", 10 * MiB), "storage.s3.chunksize"),
        force_path_style=None if force_path_style is None
        else _as_bool(force_path_style, "storage.s3.forcepathstyle"))


_BUILDERS: dict[str, Callable[[dict, bool], StorageDriver]] = {
    "filesystem": _filesystem, "inmemory": _inmemory, "s3": _s3}


def _supported() -> str:
    return ", ".join(sorted(_BUILDERS))


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # environment overrides arrive as strings
    raise ValueError(f"{name} must be true or false, got {value!r}")


def _as_size(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and value.strip().isdigit():
        size = int(value)
    else:
        raise ValueError(f"{name} must be a number of bytes, got {value!r}")
    if size < 5 * MiB:
        raise ValueError(f"{name} must be at least 5 MiB (S3's part minimum), got {size}")
    return size
