"""Picking a container's slice of the subordinate ids for `--userns=auto`:
the first slice of the wanted size, inside the ranges of both /etc/subuid
and /etc/subgid (runspec/userns.py), that no other container of this
store holds (read from their records), under a lock, so two runs never share
one. A host without a range gets one line saying what to add.
"""
from __future__ import annotations

import fcntl
import os

from .. import fastjson, paths
from ..runspec.userns import (SUBGID_FILE, SUBUID_FILE, IdMapping, UsernsError, UsernsMode,
                              owner_of_ranges, subordinate_ranges)


def allocate(root: str, mode: UsernsMode, claim) -> IdMapping:
    """A free slice for mode; `claim(mapping)` records it (in the
    container's record) while the lock is held, so the next run sees it taken."""
    if mode.kind == "keep-id":
        raise UsernsError("--userns=keep-id is for rootless containers, as with podman, and "
                          "rootless pyreg already maps only your own uid (to root)")
    if os.geteuid() != 0:
        raise UsernsError("--userns=auto needs root: a rootless pyreg maps only your own uid "
                          "(newuidmap is not used)")
    user, uid = owner_of_ranges()
    uids, gids = (subordinate_ranges(f, user, uid) for f in (SUBUID_FILE, SUBGID_FILE))
    if not uids or not gids:
        raise UsernsError(f"--userns=auto needs subordinate ids for {user!r}: add a line such as "
                          f"'{user}:100000:65536' to {SUBUID_FILE} and {SUBGID_FILE}")
    os.makedirs(paths.containers(root), exist_ok=True)
    with open(paths.userns_lock(root), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        taken = _taken(root)
        mapping = _first_free(uids, gids, mode.size, taken)
        if mapping is None:
            raise UsernsError(f"--userns=auto: no free range of {mode.size} ids left in "
                              f"{SUBUID_FILE} and {SUBGID_FILE} for {user!r}")
        claim(mapping)
    return mapping


def _taken(root: str) -> list[tuple[int, int]]:
    """(host uid start, size) of every container's mapping, from their records."""
    found = []
    for entry in os.listdir(paths.containers(root)):
        try:
            mapping = fastjson.load_file(paths.container_file(root, entry, paths.STATE)).get("id_mapping")
        except (OSError, ValueError, AttributeError):
            continue
        if mapping:
            found.append((mapping[0], mapping[2]))
    return found


def _first_free(uids, gids, size: int, taken) -> IdMapping | None:
    for start, count in uids:
        candidate = start
        while candidate + size <= start + count:
            clash = [s + n for s, n in taken if s < candidate + size and candidate < s + n]
            if not clash:
                gid = _gid_for(gids, candidate - start, size)
                if gid is not None:
                    return IdMapping(candidate, gid, size)
                return None
            candidate = max(clash)
    return None


def _gid_for(gids, offset: int, size: int) -> int | None:
    """The gid slice at the same offset in the first gid range (podman pairs them alike)."""
    start, count = gids[0]
    return start + offset if offset + size <= count else None


def map_ids(store, container, options):
    """options with the id mapping --userns asks for (None: unchanged)."""
    if options.userns is None:
        return options

    def claim(mapping: IdMapping) -> None:
        container.id_mapping = [mapping.uid, mapping.gid, mapping.size]
        store.save(container)
    return options.replace(id_mapping=allocate(store.root, options.userns, claim))


def own_rootfs(plan, mapping: IdMapping) -> None:
    """The container's copy of the image, owned by its range."""
    from ..fs.idshift import shift_ownership
    shift_ownership(plan.target, mapping.uid, mapping.gid, mapping.size)
