"""What the user asked of a container, parsed at the command line into typed
values that build_spec takes: RunOptions, and the volumes in it.
"""
from __future__ import annotations

import posixpath

from ..errors import RuntimeFailure
from ..record import REQUIRED, Record

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
        "network": "none",  # "none" (loopback only) or "host"
        "memory": None,
        "cpus": None,
        "pids_limit": None,
        "tty": False,
        "etc_files": dict,  # container path -> host file
        "cap_add": (),  # names as given: NET_ADMIN, cap_net_admin, ALL
        "cap_drop": (),
        "seccomp": "default",  # "default", "unconfined", or a profile in docker's format
    }
