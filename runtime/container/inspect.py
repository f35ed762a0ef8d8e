"""`pyreg inspect CONTAINER`: a container's record and spec in the shape of
docker's (and podman's) `inspect`, so scripts written for them read it:
Id, Name, State, Mounts, NetworkSettings, Config, HostConfig, and, as
podman does, the path of the OCI spec used, here with the spec itself.
Derived from what pyreg keeps (state.json, config.json); nothing here
writes.
"""
from __future__ import annotations

import time

from .. import fastjson, paths
from ..runspec.build import default_mounts
from .restarts import RestartPolicy
from .state import Container, ContainerStore, Status

NEVER = "0001-01-01T00:00:00Z"  # docker's zero time
_DEFAULT_DESTINATIONS = {m["destination"] for m in default_mounts()}
_STATUS_WORDS = {Status.CREATED: "created", Status.RUNNING: "running", Status.STOPPED: "exited"}


def timestamp(moment: float) -> str:
    """RFC 3339 in UTC with nanoseconds, as docker writes its times."""
    if not moment:
        return NEVER
    whole = int(moment)
    nanos = int(round((moment - whole) * 1e9))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{nanos:09d}Z"


def inspect_container(store: ContainerStore, container: Container) -> dict:
    spec_path = paths.container_file(store.root, container.id, paths.SPEC)
    try:
        spec = fastjson.load_file(spec_path)
    except (OSError, ValueError):
        spec = {}
    process = spec.get("process") or {}
    args = list(process.get("args") or container.command or [])
    return {
        "Id": container.id, "Created": timestamp(container.created),
        "Path": args[0] if args else "", "Args": args[1:],
        "State": state_section(container), "Image": container.image, "Name": container.name,
        "RestartCount": container.restart_count, "Driver": (container.rootfs or {}).get("kind", ""),
        "Mounts": mounts_section(store, container, spec),
        "Config": config_section(container, spec), "HostConfig": host_config(container, spec, paths.volumes(store.root) + "/"),
        "NetworkSettings": network_settings(spec),
        "OCIRuntime": container.runtime, "OCIConfigPath": spec_path, "OCISpec": spec,
    }


def state_section(container: Container) -> dict:
    status = container.effective_status()
    running = status == Status.RUNNING
    return {
        "Status": _STATUS_WORDS[status], "Running": running, "Paused": False,
        "Restarting": False, "OOMKilled": bool(container.oom_killed), "Dead": False,
        "Pid": container.pid if running else 0,
        "ExitCode": 0 if running or container.exit_code is None else container.exit_code,
        "Error": "", "StartedAt": timestamp(container.started),
        "FinishedAt": timestamp(container.finished) if not running else NEVER,
    }


def config_section(container: Container, spec: dict) -> dict:
    process = spec.get("process") or {}
    user = process.get("user") or {}
    return {
        "Hostname": spec.get("hostname", ""), "User": f"{user.get('uid', 0)}:{user.get('gid', 0)}",
        "Env": list(process.get("env") or []), "Cmd": list(process.get("args") or []),
        "Image": container.image, "WorkingDir": process.get("cwd", "/"),
        "Tty": bool(process.get("terminal")), "OpenStdin": False,
    }


def host_config(container: Container, spec: dict, volumes: str) -> dict:
    """volumes: the directory of named volumes, ending in "/"."""
    resources = (spec.get("linux") or {}).get("resources") or {}
    cpu = resources.get("cpu") or {}
    policy = RestartPolicy.parse(container.restart_policy)
    mounts = _own_mounts(spec)
    return {
        "AutoRemove": bool(container.auto_remove), "Init": bool(container.init),
        "Runtime": container.runtime, "NetworkMode": network_mode(spec),
        "RestartPolicy": {"Name": policy.name, "MaximumRetryCount": policy.maximum},
        "ReadonlyRootfs": bool((spec.get("root") or {}).get("readonly")),
        "Binds": [f"{_bind_source(m['source'], volumes)}:{m['destination']}"
                  + (":ro" if "ro" in m["options"] else "") for m in mounts if m.get("type") == "bind"],
        "Tmpfs": {m["destination"]: ",".join(m.get("options") or [])
                  for m in mounts if m.get("type") == "tmpfs"},
        "Memory": (resources.get("memory") or {}).get("limit", 0),
        "NanoCpus": cpu["quota"] * 1_000_000_000 // cpu["period"] if cpu else 0,
        "PidsLimit": (resources.get("pids") or {}).get("limit", 0),
        "UsernsMode": "auto" if "user" in _namespace_kinds(spec) else "",
        "CapAdd": None, "CapDrop": None,
        "Capabilities": list(((spec.get("process") or {}).get("capabilities") or {})
                             .get("bounding") or []),
    }


def _bind_source(source: str, volumes: str) -> str:
    """A named volume by its name, as docker lists it; else the host path."""
    return source[len(volumes):].split("/")[0] if source.startswith(volumes) else source


def _namespace_kinds(spec: dict) -> set:
    return {n.get("type") for n in (spec.get("linux") or {}).get("namespaces") or []}


def network_mode(spec: dict) -> str:
    return "none" if "network" in _namespace_kinds(spec) else "host"


def network_settings(spec: dict) -> dict:
    return {"Networks": {network_mode(spec): {}}, "IPAddress": "", "Gateway": "", "Ports": {}}


def _own_mounts(spec: dict) -> list[dict]:
    """The spec's mounts beyond the defaults every container gets and the
    /etc files pyreg writes."""
    return [m for m in spec.get("mounts") or []
            if m.get("destination") not in _DEFAULT_DESTINATIONS
            and m.get("destination") not in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")]


def mounts_section(store: ContainerStore, container: Container, spec: dict) -> list[dict]:
    out, volumes = [], paths.volumes(store.root) + "/"
    for mount in _own_mounts(spec):
        options = mount.get("options") or []
        kind, source = mount.get("type") or "bind", mount.get("source", "")
        entry = {"Type": kind, "Source": source if kind == "bind" else "",
                 "Destination": mount["destination"], "Mode": "", "RW": "ro" not in options,
                 "Propagation": "rprivate" if kind == "bind" else ""}
        if kind == "bind" and source.startswith(volumes):  # a named volume's _data
            entry.update(Type="volume", Name=_bind_source(source, volumes), Driver="local")
        out.append(entry)
    return out
