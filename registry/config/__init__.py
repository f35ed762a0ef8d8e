"""Registry configuration: registry:2's YAML keys and REGISTRY_* variables,
checked once against the table of every key (`table.py`) and turned into a
typed `RegistryConfig` at the command-line edge.

    load_config(path)       a YAML file (or none), then the environment
    config_from_dict(data)  the same from an already parsed mapping
"""
from __future__ import annotations

import os
from typing import Mapping

from .model import (DEFAULT_ADDR, AuthSettings, GcPolicy, HttpSettings, LogSettings, PurgePolicy,
                    RegistryConfig, TlsSettings, TokenServerSettings, build_config)
from .sources import apply_environment, check, read_yaml
from .values import ConfigError, as_duration, parse_addr

__all__ = ["AuthSettings", "ConfigError", "DEFAULT_ADDR", "GcPolicy", "HttpSettings", "LogSettings",
           "PurgePolicy", "RegistryConfig", "TlsSettings", "TokenServerSettings", "as_duration",
           "config_from_dict", "load_config", "parse_addr"]


def load_config(path: str | None = None, environ: Mapping[str, str] | None = None,
                addr: str | None = None, storage_root: str | None = None) -> RegistryConfig:
    """The configuration a file and the environment describe; the command
    line's `--addr` and `--storage` win over both."""
    return config_from_dict(read_yaml(path) if path else {}, environ, addr, storage_root)


def config_from_dict(data: Mapping, environ: Mapping[str, str] | None = None,
                     addr: str | None = None, storage_root: str | None = None) -> RegistryConfig:
    data = _copy(data)
    origins, skipped = apply_environment(data, os.environ if environ is None else environ)
    if addr is not None:
        parse_addr(addr, "--addr")
        http = data.get("http")
        data["http"] = {**(http if isinstance(http, dict) else {}), "addr": addr}
    if storage_root is not None:
        data["storage"] = {**_options_of(data.get("storage")), "filesystem": {"rootdirectory": storage_root}}
    values, warnings = check(data, origins)
    if skipped:
        warnings.append(f"ignoring {', '.join(skipped)}: Kubernetes service links, not settings")
    return build_config(values, warnings)


def _options_of(storage) -> dict:
    """The storage section without its driver (delete, redirect, maintenance, ...)."""
    from .table import KEYS
    if not isinstance(storage, dict):
        return {}
    return {name: value for name, value in storage.items()
            if not getattr(KEYS.get(f"storage.{name}"), "choice", False)}


def _copy(data: Mapping) -> dict:
    """A deep copy of the mappings (the environment writes into it)."""
    if not isinstance(data, Mapping):
        raise ConfigError("the configuration is not a mapping")
    return {key: _copy(value) if isinstance(value, Mapping) else value for key, value in data.items()}
