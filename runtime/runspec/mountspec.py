"""The mount options of `run` beyond `-v HOST:CTR`, parsed at the edge into
typed values: `--tmpfs PATH[:OPTS]`, `--mount type=bind|volume|tmpfs,...`
(docker's keys), and `-v NAME:CTR` / `-v CTR` for named and anonymous
volumes. A tmpfs gets docker's defaults (noexec, nosuid, nodev) under
what was asked; every key and option is checked here, so the kernel never
sees a mount option pyreg did not mean to pass.
"""
from __future__ import annotations

import posixpath
import re

from ..record import REQUIRED, Record
from .build import FORBIDDEN_DESTINATIONS, SpecError, Volume

TMPFS_DEFAULTS = ("noexec", "nosuid", "nodev")
TMPFS_FLAGS = {"ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "atime", "noatime",
               "relatime", "strictatime", "nodiratime"}
_TMPFS_VALUES = {"size": r"\d+[kmgKMG%]?", "nr_inodes": r"\d+[kmgKMG%]?", "nr_blocks": r"\d+[kmgKMG]?",
                 "mode": r"[0-7]{1,4}", "uid": r"\d+", "gid": r"\d+"}
VOLUME_NAME = r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}"  # docker's, as paths.NAME_PATTERN
_TRUE, _FALSE = ("", "1", "true"), ("0", "false")


class Tmpfs(Record):
    FIELDS = {"container": REQUIRED, "options": ()}  # options: as the kernel takes them

    def mount(self) -> dict:
        return {"destination": self.container, "type": "tmpfs", "source": "tmpfs",
                "options": list(self.options)}


class NamedVolume(Record):
    """A volume in pyreg's store; name None: an anonymous one, named when made."""
    FIELDS = {"name": REQUIRED, "container": REQUIRED, "read_only": False, "copy": True}


def destination(path: str, flag: str) -> str:
    """A checked mount destination: absolute, and not /, /proc, /sys or /dev."""
    if not path.startswith("/"):
        raise SpecError(f"invalid {flag} destination {path!r}: it must be absolute")
    path = posixpath.normpath(path)
    if path == "/" or path in FORBIDDEN_DESTINATIONS or path.startswith("/proc/"):
        raise SpecError(f"invalid {flag} destination {path!r}: pyreg does not mount over it")
    return path


def tmpfs_options(items: list[str], flag: str) -> tuple[str, ...]:
    """docker's defaults first, so an option given overrides one (exec over noexec)."""
    for item in items:
        key, equals, value = item.partition("=")
        if not equals and key in TMPFS_FLAGS:
            continue
        if not equals or key not in _TMPFS_VALUES or not re.fullmatch(_TMPFS_VALUES[key], value):
            raise SpecError(f"invalid {flag} option {item!r}: want size=64m, mode=1777, uid=N, "
                            "gid=N, nr_inodes=N, ro, exec, suid, dev...")
    return (*TMPFS_DEFAULTS, *items)


def parse_tmpfs(text: str) -> Tmpfs:
    """`--tmpfs PATH[:OPT,OPT...]`."""
    path, _, options = text.partition(":")
    return Tmpfs(destination(path, "--tmpfs"),
                 tmpfs_options([o for o in options.split(",") if o], "--tmpfs"))


def parse_volume_flag(text: str) -> Volume | NamedVolume:
    """`-v HOST:CTR[:ro]` (a bind), `-v NAME:CTR[:ro]` (a named volume) or
    `-v CTR` (an anonymous volume)."""
    parts = text.split(":")
    if len(parts) == 1:
        return NamedVolume(None, destination(parts[0], "-v"))
    if parts[0].startswith("/"):
        return Volume.parse(text)
    if not re.fullmatch(VOLUME_NAME, parts[0]):
        raise SpecError(f"invalid volume {text!r}: a source is an absolute host path or a "
                        "volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)")
    if len(parts) > 3 or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
        raise SpecError(f"invalid volume {text!r}: want NAME:CONTAINER[:ro]")
    return NamedVolume(parts[0], destination(parts[1], "-v"), len(parts) == 3 and parts[2] == "ro")


def parse_mount(text: str) -> Volume | NamedVolume | Tmpfs:
    """`--mount type=bind|volume|tmpfs,source=...,target=...[,readonly]
    [,tmpfs-size=...][,tmpfs-mode=...][,volume-nocopy]`, docker's keys."""
    fields = _mount_fields(text)
    kind = fields.pop("type", "volume")
    target = fields.pop("target", None)
    if target is None:
        raise SpecError(f"invalid --mount {text!r}: target= is required")
    read_only = _boolean(fields.pop("readonly", "false"), text)
    allowed = {"bind": {"source", "bind-propagation"}, "volume": {"source", "volume-nocopy"},
               "tmpfs": {"tmpfs-size", "tmpfs-mode"}}
    if kind not in allowed:
        raise SpecError(f"invalid --mount {text!r}: type is bind, volume or tmpfs")
    unknown = set(fields) - allowed[kind]
    if unknown:
        raise SpecError(f"invalid --mount {text!r}: {', '.join(sorted(unknown))} does not go "
                        f"with type={kind}")
    if kind == "tmpfs":
        return _tmpfs_mount(fields, target, read_only)
    if kind == "bind":
        return _bind_mount(fields, target, read_only, text)
    source = fields.get("source") or None
    if source is not None and not re.fullmatch(VOLUME_NAME, source):
        raise SpecError(f"invalid --mount {text!r}: {source!r} is not a volume name")
    return NamedVolume(source, destination(target, "--mount"), read_only,
                       not _boolean(fields.get("volume-nocopy", "false"), text))


def _mount_fields(text: str) -> dict[str, str]:
    aliases = {"src": "source", "dst": "target", "destination": "target", "ro": "readonly"}
    fields: dict[str, str] = {}
    for item in text.split(","):
        key, equals, value = item.partition("=")
        key = aliases.get(key.strip(), key.strip())
        if not key or key in fields:
            raise SpecError(f"invalid --mount {text!r}: empty or repeated field {key!r}")
        fields[key] = value if equals else ""
    return fields


def _boolean(value: str, text: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise SpecError(f"invalid --mount {text!r}: {value!r} is not true or false")


def _tmpfs_mount(fields: dict, target: str, read_only: bool) -> Tmpfs:
    items = [f"size={fields['tmpfs-size']}"] if "tmpfs-size" in fields else []
    items += [f"mode={fields['tmpfs-mode']}"] if "tmpfs-mode" in fields else []
    items += ["ro"] if read_only else []
    return Tmpfs(destination(target, "--mount"), tmpfs_options(items, "--mount"))


def _bind_mount(fields: dict, target: str, read_only: bool, text: str) -> Volume:
    source = fields.get("source", "")
    if not source.startswith("/"):
        raise SpecError(f"invalid --mount {text!r}: a bind's source must be an absolute path")
    if fields.get("bind-propagation", "rprivate") != "rprivate":
        raise SpecError(f"invalid --mount {text!r}: pyreg binds are rprivate only")
    return Volume.parse(f"{source}:{target}" + (":ro" if read_only else ""))
