"""Which devices a container may open: the spec's `linux.resources.devices`
rules enforced by the cgroup v1 devices controller, the way runc does, for
containers that could get past the nodev mounts (those with CAP_SYS_ADMIN).

Every container with the same rules shares one group,
`devices/pyreg/devices-<hash of the rules>`, made once and kept (as docker
keeps its parent group): a container joins it with one write and leaves
nothing to remove. The group is filled under a temporary name and renamed
into place, so no container can ever join a group whose rules are not all
written yet (a new v1 group starts with its parent's, which allow all).
"""
from __future__ import annotations

import os

from .. import fastjson
from ..digest import sha256_hex
from ..errors import RuntimeFailure

DEVICES_ROOT = "/sys/fs/cgroup/devices"


class DeviceError(RuntimeFailure):
    pass


def controller_available() -> bool:
    return os.geteuid() == 0 and os.path.isdir(DEVICES_ROOT)


def rule_lines(rules: list[dict]) -> list[tuple[str, str]]:
    """OCI device rules -> (file, line) writes, e.g. ("devices.allow", "c 1:3 rwm")."""
    lines = []
    for rule in rules:
        kind = rule.get("type", "a")
        if kind == "a":
            line = "a"
        else:
            major, minor = rule.get("major"), rule.get("minor")
            line = (f"{kind} {'*' if major is None else major}:{'*' if minor is None else minor}"
                    f" {rule.get('access', 'rwm')}")
        lines.append(("devices.allow" if rule.get("allow") else "devices.deny", line))
    return lines


def device_group(rules: list[dict], root: str = DEVICES_ROOT) -> str:
    """The shared group enforcing rules, made if missing."""
    digest = sha256_hex(fastjson.dumps(rules).encode())[:16]
    path = os.path.join(root, "pyreg", f"devices-{digest}")
    if os.path.isdir(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = f"{path}.new-{os.getpid()}"
    try:
        os.mkdir(temp)
        for name, line in rule_lines(rules):
            with open(os.path.join(temp, name), "w") as handle:
                handle.write(line)
        os.rename(temp, path)
    except OSError as err:
        _remove_quietly(temp)
        if not os.path.isdir(path):  # not just a concurrent run that won the rename
            raise DeviceError(f"cannot set up the device cgroup: {err.strerror}") from None
    return path


def _remove_quietly(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass


def join(path: str) -> None:
    with open(os.path.join(path, "cgroup.procs"), "w") as handle:
        handle.write("0")
