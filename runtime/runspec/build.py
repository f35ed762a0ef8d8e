"""The OCI runtime spec (`config.json`) as a pure function of the image's run
configuration and the user's options (RunOptions, parsed at the command
line). runc reads the result; so does pyreg's own process launcher, so both
runtimes start exactly the same container.
"""
from __future__ import annotations

import posixpath

from ..errors import RuntimeFailure
from ..kernel.linux import CAPABILITY_NUMBERS
from ..record import REQUIRED, Record
from .seccomp import default_profile, oci_section
from .users import User

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Devices a container may use (runc's default list); creating nodes ("m") is
# allowed for any, opening them only for these. The device cgroup enforces it.
ALLOWED_DEVICES = (("c", 1, 3), ("c", 1, 5), ("c", 1, 7), ("c", 1, 8), ("c", 1, 9),
                   ("c", 5, 0), ("c", 5, 1), ("c", 5, 2), ("c", 136, None))
MASKED_PATHS = ("/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                "/sys/firmware")
READONLY_PATHS = ("/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                  "/proc/sysrq-trigger")
CPU_PERIOD = 100_000
# podman's default set: docker's without CAP_MKNOD, CAP_NET_RAW and CAP_AUDIT_WRITE
DEFAULT_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_SETFCAP")
# The kernel's own trees: a volume there would replace them and every masked path
FORBIDDEN_DESTINATIONS = ("/proc", "/sys", "/dev")


class SpecError(RuntimeFailure):
    pass


class Volume(Record):
    FIELDS = {"host": REQUIRED, "container": REQUIRED, "read_only": False}

    @classmethod
    def parse(cls, text: str) -> "Volume":
        """`HOST:CTR[:ro|rw]`; both paths absolute."""
        parts = text.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
            raise SpecError(f"invalid volume {text!r}: want HOST:CONTAINER[:ro]")
        host, container = parts[0], parts[1]
        if not host.startswith("/") or not container.startswith("/"):
            raise SpecError(f"invalid volume {text!r}: both paths must be absolute")
        container = posixpath.normpath(container)
        if container == "/":
            raise SpecError(f"invalid volume {text!r}: cannot mount over /")
        if container in FORBIDDEN_DESTINATIONS or container.startswith("/proc/"):
            raise SpecError(f"invalid volume {text!r}: cannot mount over {container}, the "
                            "kernel's own filesystem there")
        return cls(host, container, len(parts) == 3 and parts[2] == "ro")


class RunOptions(Record):
    FIELDS = {
        "command": (),
        "entrypoint": None,  # None: the image's; (): cleared
        "env": (),
        "workdir": None,
        "user": None,
        "hostname": "",
        "volumes": (),
        "read_only": False,
        "network": "none",  # "none" (loopback only), "host", or a bridge network's name
        "netns": "",  # a network namespace file to join (a bridge network's); "": a new one
        "memory": None,
        "cpus": None,
        "pids_limit": None,
        "tty": False,
        "etc_files": dict,  # container path -> host file
        "cap_add": (),  # names as given: NET_ADMIN, cap_net_admin, ALL
        "cap_drop": (),
        "seccomp": "default",  # "default", "unconfined", or a profile in docker's format
        "tmpfs": (),  # mountspec.Tmpfs: --tmpfs and --mount type=tmpfs
        "named_volumes": (),  # mountspec.NamedVolume; prepare turns them into volumes (binds)
        "userns": None,  # userns.UsernsMode (--userns); None: the host's user namespace
        "id_mapping": None,  # userns.IdMapping picked for it (container/idmap.py)
    }


def process_args(image_config: dict, options: RunOptions) -> list[str]:
    if options.entrypoint is not None:
        entrypoint, command = list(options.entrypoint), list(options.command)
    else:
        entrypoint = list(image_config.get("Entrypoint") or [])
        command = list(options.command) or list(image_config.get("Cmd") or [])
    args = entrypoint + command
    if not args:
        raise SpecError("no command specified: the image has no Entrypoint or Cmd")
    return args


def merge_env(image_env: list[str], overrides: tuple[str, ...], defaults: dict[str, str]) -> list[str]:
    merged: dict[str, str] = {}
    for item in [*image_env, *overrides]:
        key, sep, value = item.partition("=")
        if not key:
            raise SpecError(f"invalid environment variable {item!r}")
        merged[key] = value
    for key, value in defaults.items():
        merged.setdefault(key, value)
    return [f"{k}={v}" for k, v in merged.items()]


def working_dir(image_config: dict, options: RunOptions) -> str:
    cwd = options.workdir or image_config.get("WorkingDir") or "/"
    if not cwd.startswith("/"):
        raise SpecError(f"working directory {cwd!r} must be absolute")
    return posixpath.normpath(cwd)


def build_spec(image_config: dict, options: RunOptions, user: User) -> dict:
    hostname = options.hostname or "container"
    defaults = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname, "HOME": user.home}
    if options.tty:
        defaults["TERM"] = "xterm"
    capabilities = resolve_capabilities(options.cap_add, options.cap_drop)
    process = {
        "terminal": options.tty,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": list(user.additional_gids)},
        "args": process_args(image_config, options),
        "env": merge_env(list(image_config.get("Env") or []), options.env, defaults),
        "cwd": working_dir(image_config, options),
        # no inheritable (nor ambient) capabilities: a file with inheritable
        # file capabilities must not gain them on exec (CVE-2022-24769)
        "capabilities": {name: capabilities for name in ("bounding", "effective", "permitted")},
        "noNewPrivileges": True,
    }
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    if options.network != "host":
        namespaces.append({"type": "network", "path": options.netns} if options.netns
                          else {"type": "network"})
    linux = {"namespaces": namespaces, "resources": resources(options),
             "maskedPaths": list(MASKED_PATHS), "readonlyPaths": list(READONLY_PATHS)}
    if options.id_mapping is not None:  # --userns=auto
        namespaces.append({"type": "user"})
        linux.update(options.id_mapping.spec_section())
    if options.seccomp != "unconfined":
        linux["seccomp"] = seccomp_section(options.seccomp, capabilities)
    return {
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": "rootfs", "readonly": options.read_only},
        "hostname": hostname,
        "mounts": default_mounts() + extra_mounts(options),
        "linux": linux,
    }


def _capability_name(text: str) -> str:
    name = text.strip().upper()
    name = name if name.startswith("CAP_") or name == "ALL" else f"CAP_{name}"
    if name != "ALL" and name not in CAPABILITY_NUMBERS:
        raise SpecError(f"unknown capability {text!r}")
    return name


def resolve_capabilities(add: tuple[str, ...], drop: tuple[str, ...]) -> list[str]:
    """The default set with --cap-add / --cap-drop applied, as docker does:
    ALL in drop starts from nothing, ALL in add grants every capability
    but those dropped by name. Sorted by number, as the kernel lists them."""
    added, dropped = {_capability_name(n) for n in add}, {_capability_name(n) for n in drop}
    if "ALL" in added:
        caps = set(CAPABILITY_NUMBERS) - dropped
    else:
        caps = set() if "ALL" in dropped else set(DEFAULT_CAPABILITIES) - dropped
        caps |= added
    return sorted(caps, key=CAPABILITY_NUMBERS.__getitem__)


def seccomp_section(profile, capabilities: list[str]) -> dict:
    return oci_section(default_profile() if profile == "default" else profile, capabilities)


def default_mounts() -> list[dict]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
    ]


def extra_mounts(options: RunOptions) -> list[dict]:
    mounts = [{"destination": path, "type": "bind", "source": source,
               "options": ["rbind", "rprivate", "nodev"]}
              for path, source in sorted(options.etc_files.items())]
    for volume in options.volumes:
        # rro: read-only recursively, submounts too (runc and crun know it)
        flags = ["rbind", "rprivate", "nodev"] + (["ro", "rro"] if volume.read_only else [])
        mounts.append({"destination": volume.container, "type": "bind", "source": volume.host,
                       "options": flags})
    return mounts + [tmpfs.mount() for tmpfs in options.tmpfs]


def device_rules() -> list[dict]:
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "access": "m"}, {"allow": True, "type": "b", "access": "m"}]
    for kind, major, minor in ALLOWED_DEVICES:
        rule = {"allow": True, "type": kind, "major": major, "access": "rwm"}
        if minor is not None:
            rule["minor"] = minor
        rules.append(rule)
    return rules


def resources(options: RunOptions) -> dict:
    out: dict = {"devices": device_rules()}
    if options.memory is not None:
        out["memory"] = {"limit": options.memory, "swap": options.memory}
    if options.cpus is not None:
        out["cpu"] = {"quota": max(1000, int(options.cpus * CPU_PERIOD)), "period": CPU_PERIOD}
    if options.pids_limit is not None:
        out["pids"] = {"limit": options.pids_limit}
    return out
