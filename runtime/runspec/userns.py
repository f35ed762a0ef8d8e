"""`--userns=auto[:size=N]` and `--userns=keep-id`, parsed at the edge, and
the subordinate id ranges of /etc/subuid and /etc/subgid they draw from.

As podman does for root, `auto` takes its ranges from the entries of the
user `containers` (`containers:100000:65536`); a pyreg run by another
user takes that user's own entries. Each container gets a slice of its
own (container/idmap.py picks it): root in the container is the slice's
first id on the host, and no id of the host's own users is mapped.
"""
from __future__ import annotations

import os

from ..errors import RuntimeFailure
from ..record import REQUIRED, Record

SUBUID_FILE, SUBGID_FILE = "/etc/subuid", "/etc/subgid"
AUTO_USER = "containers"  # podman's: root's containers draw from this user's ranges
DEFAULT_SIZE = 65536  # the ids of a whole distribution's users, as docker's userns-remap


class UsernsError(RuntimeFailure):
    pass


class UsernsMode(Record):
    FIELDS = {"kind": REQUIRED, "size": DEFAULT_SIZE}  # kind: "auto" or "keep-id"

    @classmethod
    def parse(cls, text: str) -> "UsernsMode | None":
        """None: the host's user namespace (`--userns=` or `host`)."""
        kind, _, options = text.partition(":")
        if kind in ("", "host") and not options:
            return None
        if kind == "keep-id" and not options:
            return cls("keep-id")
        if kind != "auto":
            raise UsernsError(f"invalid --userns {text!r}: pyreg knows auto[:size=N], keep-id and host")
        size = DEFAULT_SIZE
        for option in filter(None, options.split(",")):
            key, _, value = option.partition("=")
            if key != "size" or not value.isdigit() or not 1 <= int(value) <= 1 << 24:
                raise UsernsError(f"invalid --userns {text!r}: its one option is size=N "
                                  "(1 to 16777216)")
            size = int(value)
        return cls("auto", size)


class IdMapping(Record):
    """Container ids 0..size-1 are host uids uid..uid+size-1 (gids alike)."""
    FIELDS = {"uid": REQUIRED, "gid": REQUIRED, "size": REQUIRED}

    def spec_section(self) -> dict:
        return {"uidMappings": [{"containerID": 0, "hostID": self.uid, "size": self.size}],
                "gidMappings": [{"containerID": 0, "hostID": self.gid, "size": self.size}]}


def subordinate_ranges(path: str, user: str, uid: int) -> list[tuple[int, int]]:
    """(start, count) of user's entries (by name or by uid) in a subuid file."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return []
    ranges = []
    for line in lines:
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[0] in (user, str(uid)) and fields[1].isdigit() \
                and fields[2].isdigit() and int(fields[2]) > 0:
            ranges.append((int(fields[1]), int(fields[2])))
    return ranges


def owner_of_ranges() -> tuple[str, int]:
    """Whose entries `auto` uses: `containers` for root, else the caller."""
    if os.geteuid() == 0:
        return AUTO_USER, -1
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name, os.geteuid()
