"""Reading the configuration tree: a registry:2 YAML file, then REGISTRY_*
environment variables over it, then every key checked against the table.

Environment variables follow Distribution: REGISTRY_A_B_C=value sets a.b.c
and the value is read as YAML (so `true`, `[a, b]` and `{k: v}` work). Names
that contain '_' are matched through the table, longest first. A string for
a choice section names the alternative: REGISTRY_STORAGE=s3, REGISTRY_AUTH=htpasswd.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from .table import KEYS, TREE, Key, Node, Status
from .values import ConfigError

PREFIX = "REGISTRY_"
# Kubernetes defines these for a service named "registry" in every pod of its
# namespace; they are not settings (Distribution logs and skips them too).
_SERVICE_LINK = re.compile(r"REGISTRY_(PORT(_\d+_(TCP|UDP|SCTP)(_(ADDR|PORT|PROTO))?)?"
                           r"|SERVICE_(HOST|PORT(_\w+)?))")


@dataclass(frozen=True)
class Found:
    key: Key
    value: Any
    turned_off: bool  # inside a section with `enabled: false` or `disabled: true`


def read_yaml(path: str) -> dict:
    import yaml
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"config {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"config {path} is not a YAML mapping")
    return data or {}


def apply_environment(data: dict, environ: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Set every REGISTRY_* variable into `data`; returns where each key came
    from (dotted path -> variable) and the variables skipped as service links.
    Sorted, so REGISTRY_STORAGE=s3 comes before REGISTRY_STORAGE_S3_BUCKET."""
    origins, skipped = {}, []
    for name in sorted(environ):
        if not name.startswith(PREFIX) or name == PREFIX:
            continue
        if _SERVICE_LINK.fullmatch(name):
            skipped.append(name)
            continue
        path, node = _resolve(name)
        import yaml  # only when a variable is set: it costs start-up time otherwise
        try:
            value = yaml.safe_load(environ[name]) if environ[name] else ""
        except yaml.YAMLError:
            raise ConfigError(f"{name} is not a valid YAML value") from None
        _set(data, path, node, value, name)
        origins[".".join(path)] = name
    return origins, skipped


def _resolve(name: str) -> tuple[list[str], Node]:
    """The YAML path a variable names, and the table node it lands on."""
    segments = name[len(PREFIX):].lower().split("_")
    node, path, i = TREE, [], 0
    while i < len(segments):
        if node.terminal:
            if node.key.subtree:  # inside a mapping of its own: one level per segment
                return path + segments[i:], node
            break
        children = node.children or {}
        for j in range(len(segments), i, -1):  # longest first: names may contain '_'
            part = "_".join(segments[i:j])
            if part in children:
                node, i = children[part], j
                path.append(part)
                break
        else:
            break
    else:
        return path, node
    raise unknown_key(".".join(path + segments[i:]), from_variable=name)


def _set(data: dict, path: list[str], node: Node, value: Any, name: str) -> None:
    parent = data
    for part in path[:-1]:
        if not isinstance(parent.get(part), dict):
            parent[part] = {}
        parent = parent[part]
    last = path[-1]
    choices = {child for child, below in (node.children or {}).items() if below.key and below.key.choice}
    if node.terminal or isinstance(value, dict) or not node.children:
        parent[last] = value
    elif isinstance(value, str) and choices:
        if value.lower() not in choices:
            raise unknown_key(f"{'.'.join(path)}.{value.lower()}", from_variable=name)
        section = {k: v for k, v in (parent.get(last) or {}).items() if k not in choices}
        parent[last] = {**section, value.lower(): (parent.get(last) or {}).get(value.lower())}
    else:
        raise ConfigError(f"{name} names the section {'.'.join(path)}: give it a YAML mapping")


def walk(data: Mapping, node: Node = TREE, prefix: str = "", off: bool = False) -> Iterator[Found]:
    """Every key present in `data`, in order; raises on keys not in the table."""
    off = off or data.get("enabled") is False or data.get("disabled") is True
    for name, value in data.items():
        path = f"{prefix}.{name}" if prefix else str(name)
        child = (node.children or {}).get(str(name))
        if child is None:
            raise unknown_key(path)
        if child.key is not None:
            yield Found(child.key, value, off)
        if child.terminal or value is None:
            continue
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path} must be a mapping, not {value!r}")
        yield from walk(value, child, path, off)


def check(data: Mapping, origins: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Parsed values of the honoured keys by name, and a warning per no-effect key."""
    values, warnings = {}, []
    for found in walk(data):
        key = found.key
        if key.status is Status.HONOURED:
            if found.value is not None or key.choice:
                values[key.name] = key.parse(found.value, key.name) if key.parse else found.value
        elif not _asks_for_something(found):
            continue
        elif key.status is Status.NO_EFFECT:
            warnings.append(f"config key {_named(key.name, origins)} {key.status.value}: {key.note}")
        else:
            raise ConfigError(f"config key {_named(key.name, origins)} {key.status.value}; "
                              f"pyreg does not start rather than serve without it")
    return values, warnings


def _asks_for_something(found: Found) -> bool:
    if found.key.choice:
        return True  # `auth: {htpasswd: }` asks for htpasswd whatever follows
    if found.turned_off or found.value in (None, "", [], {}):
        return False
    return not any(found.value == inert for inert in found.key.inert)


def _named(key: str, origins: Mapping[str, str]) -> str:
    variables = sorted({name for path, name in origins.items() if (path + ".").startswith(key + ".")
                        or (key + ".").startswith(path + ".")})
    return f"{key} (from {', '.join(variables)})" if variables else key


def unknown_key(path: str, from_variable: str | None = None) -> ConfigError:
    import difflib
    known = sorted({name for key in KEYS for name in _prefixes(key)})
    if from_variable is not None:
        variables = {PREFIX + name.upper().replace(".", "_"): name for name in known}
        close = difflib.get_close_matches(from_variable, variables, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else ""
        return ConfigError(f"unknown setting {from_variable} ({path}){hint}")
    close = difflib.get_close_matches(path, known, n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]}?" if close else ""
    return ConfigError(f"unknown config key {path}{hint}")


def _prefixes(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
