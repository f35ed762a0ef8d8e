"""Users and bcrypt hashes from an htpasswd file, as `htpasswd -B` writes it.

Only bcrypt entries (`$2y$`, `$2a$`, `$2b$`) are accepted, as in
Distribution; an MD5 (`$apr1$`), SHA-1 (`{SHA}`), crypt or plain-text entry
is skipped with a log line naming the user and the line, so that user cannot
log in and the operator knows why. The file is re-read when its inode, size
or modification time changes (one `stat` per check, about a microsecond),
so users are added and removed without a restart. A file that disappears
leaves no users: access fails closed.

`verify` is deliberate work (bcrypt costs milliseconds by design): callers
run it in a thread. An unknown user costs a bcrypt check too, against a
dummy hash of the file's highest cost, so timing does not tell which user
names exist.
"""
from __future__ import annotations

import logging
import re
import secrets

import bcrypt

from .watched import Snapshot, WatchedFile

log = logging.getLogger("pyreg.auth")
_BCRYPT_RE = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
# bcrypt reads at most 72 bytes of a password; Apache's htpasswd truncates
# there, and bcrypt 5 raises past it, so we truncate as htpasswd does.
_BCRYPT_MAX_PASSWORD = 72


def _hash_kind(value: str) -> str:
    if value.startswith("$apr1$"):
        return "MD5 ($apr1$)"
    if value.startswith("{SHA}"):
        return "SHA-1 ({SHA})"
    if value.startswith(("$1$", "$5$", "$6$")):
        return f"crypt ({value[:3]})"
    return "plain text or crypt"


def parse_htpasswd(text: str, where: str) -> dict[str, str]:
    """user -> bcrypt hash; other entries are logged and skipped."""
    users: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user:
            log.warning("%s line %d: not a user:hash entry; ignored", where, number)
        elif not _BCRYPT_RE.fullmatch(hashed):
            log.warning("%s line %d: user %r has a %s hash; only bcrypt entries (htpasswd -B) "
                        "are supported, so this user cannot log in", where, number, user,
                        _hash_kind(hashed))
        elif user in users:
            log.warning("%s line %d: user %r appears again; the first entry is used",
                        where, number, user)
        else:
            users[user] = hashed
    return users


class HtpasswdFile:
    def __init__(self, path: str):
        self.path = path
        self._file = WatchedFile(path, "htpasswd file", lambda text: parse_htpasswd(text, path), {})
        self._dummy: tuple[tuple | None, bytes] | None = None

    @property
    def generation(self) -> tuple | None:
        """Changes whenever the users may have changed (caches key on it)."""
        return self._file.current().identity

    def users(self) -> list[str]:
        return sorted(self._file.current().value)

    def hash_of(self, user: str) -> str | None:
        return self._file.current().value.get(user)

    def verify(self, user: str, password: str) -> bool:
        """Blocking (bcrypt): run it in a thread."""
        snapshot = self._file.current()
        hashed = snapshot.value.get(user)
        candidate = password.encode()[:_BCRYPT_MAX_PASSWORD]
        try:
            if hashed is None:
                bcrypt.checkpw(candidate, self._dummy_hash(snapshot))
                return False
            return bcrypt.checkpw(candidate, hashed.encode())
        except ValueError:  # a NUL byte, or a hash bcrypt rejects
            return False

    def _dummy_hash(self, snapshot: Snapshot) -> bytes:
        """A hash as costly as the file's costliest, made once per version."""
        if self._dummy is None or self._dummy[0] != snapshot.identity:
            costs = [int(_BCRYPT_RE.fullmatch(h).group(1)) for h in snapshot.value.values()]
            cost = min(max(max(costs, default=5), 4), 31)
            self._dummy = (snapshot.identity,
                           bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=cost)))
        return self._dummy[1]
