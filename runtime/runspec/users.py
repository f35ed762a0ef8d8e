"""Resolving `--user` / the image's User (`name`, `uid`, `name:group`,
`uid:gid`) against the image's own /etc/passwd and /etc/group, as docker does.
"""
from __future__ import annotations

from ..errors import RuntimeFailure
from ..record import Record


class UserError(RuntimeFailure):
    pass


class User(Record):
    FIELDS = {"uid": 0, "gid": 0, "additional_gids": (), "home": "/"}


def require_mapped(uid: int, gid: int, groups=(), rootless: bool = False) -> None:
    """A rootless container maps only the caller's own uid and gid (as 0):
    any other id cannot be switched to inside, so say so before starting."""
    if rootless and (uid or gid or any(groups)):
        ids = f"uid {uid} gid {gid}" + (f" groups {','.join(map(str, groups))}" if groups else "")
        raise UserError(f"cannot run as {ids} rootless: only your own user is mapped into the "
                        "container (as root, 0); run pyreg as root for other users, or use -u 0")


def _table(text: str | None, fields: int) -> list[list[str]]:
    rows = []
    for line in (text or "").splitlines():
        if line and not line.startswith("#"):
            parts = line.split(":")
            if len(parts) >= fields:
                rows.append(parts)
    return rows


def _number(text: str) -> int | None:
    if text.isdigit() and int(text) < 2**32 - 1:
        return int(text)
    return None


def resolve_user(spec: str, read_file) -> User:
    """`read_file('/etc/passwd')` returns the image's file text or None."""
    spec = (spec or "").strip()
    if not spec:
        spec = "0"
    user_part, _, group_part = spec.partition(":")
    passwd = _table(read_file("/etc/passwd"), 7)
    uid, gid, name, home = _find_user(user_part, passwd)
    groups = _table(read_file("/etc/group"), 4)
    if group_part:
        gid = _find_group(group_part, groups)
    supplementary = tuple(sorted({int(g[2]) for g in groups
                                  if name and name in g[3].split(",") and g[2].isdigit()
                                  and int(g[2]) != gid}))
    return User(uid, gid, supplementary, home)


def _find_user(user_part: str, passwd: list[list[str]]) -> tuple[int, int, str, str]:
    number = _number(user_part)
    for row in passwd:
        if row[0] == user_part or (number is not None and _number(row[2]) == number):
            if _number(row[2]) is None or _number(row[3]) is None:
                raise UserError(f"invalid /etc/passwd entry for {row[0]!r} in the image")
            return int(row[2]), int(row[3]), row[0], row[5] or "/"
    if number is None:
        raise UserError(f"unable to find user {user_part}: no matching entries in passwd file")
    return number, 0, "", "/"  # a bare uid need not exist, as with docker


def _find_group(group_part: str, groups: list[list[str]]) -> int:
    number = _number(group_part)
    if number is not None:
        return number
    for row in groups:
        if row[0] == group_part and _number(row[2]) is not None:
            return int(row[2])
    raise UserError(f"unable to find group {group_part}: no matching entries in group file")
