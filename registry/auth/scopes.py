"""What a request needs, in the docker token specification's vocabulary.

A scope is `type:name:action[,action...]`: `repository:team/app:pull,push`,
`registry:catalog:*`. A name may itself contain ':' (`host:5000/app` in some
clients' scopes), so the type ends at the first ':' and the actions begin
after the last one.

`required_access` is a pure function from (method, route kind, repository
name, query) to a `Requirement`, with Distribution's mapping: reads need
`pull`; uploads and manifest PUT need `pull,push` (what docker clients ask
for); DELETE of a blob or manifest needs `delete`; the catalog needs
`registry:catalog:*`, and so does pyreg's `/v2/_usage`; one repository's
`_usage` needs `pull` and deleting a whole repository `delete`. Two choices differ from Distribution 2.8, on purpose:
every method on an upload session needs `pull,push` (Distribution asks
`delete` to cancel one, which a client's push token lacks), and a mount's
`pull` on the `from` repository is wanted, not needed: without it the
request becomes an ordinary upload, so a caller learns nothing about a blob
it may not read (Distribution refuses the whole request instead).
"""
from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from ocispec.reference import is_valid_name, validate_name

from .errors import AuthError

PULL, PUSH, DELETE, ALL = "pull", "push", "delete", "*"
REPOSITORY, REGISTRY = "repository", "registry"
_TYPE_RE = re.compile(r"[a-z0-9]+(?:\([a-z0-9]+\))?")
_ACTION_RE = re.compile(r"[a-z]+|\*")
MAX_SCOPE_LENGTH = 1024


class ScopeError(AuthError, ValueError):
    """A scope string that does not follow the token specification's grammar."""


@dataclass(frozen=True, slots=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]  # sorted and unique, so equal scopes print alike

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"

    @property
    def resource(self) -> tuple[str, str]:
        return self.type, self.name

    def narrowed(self, actions: Iterable[str]) -> Scope:
        return Scope(self.type, self.name, tuple(sorted(set(actions))))


def scope(type_: str, name: str, *actions: str) -> Scope:
    return Scope(type_, name, tuple(sorted(set(actions))))


def repository(name: str, *actions: str) -> Scope:
    return scope(REPOSITORY, name, *actions)


CATALOG = scope(REGISTRY, "catalog", ALL)


def parse_scope(text: str) -> Scope:
    """One `type:name:actions` scope; raises ScopeError."""
    if len(text) > MAX_SCOPE_LENGTH:
        raise ScopeError("scope too long")
    type_, sep, rest = text.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not (sep and sep2 and name) or not _TYPE_RE.fullmatch(type_):
        raise ScopeError(f"malformed scope {text[:100]!r}")
    wanted = [action for action in actions.split(",") if action]
    if not all(_ACTION_RE.fullmatch(action) for action in wanted):
        raise ScopeError(f"malformed actions in scope {text[:100]!r}")
    # A resource class (`repository(plugin)`) is not a different resource.
    return scope(type_.partition("(")[0], name, *wanted)


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Scopes from query or form values, each of which may hold several
    separated by spaces (OAuth2 style); actions on one resource are merged."""
    merged: dict[tuple[str, str], set[str]] = {}
    for value in values:
        for text in value.split():
            parsed = parse_scope(text)
            merged.setdefault(parsed.resource, set()).update(parsed.actions)
    return [scope(type_, name, *actions) for (type_, name), actions in merged.items()]


class RouteKind(enum.Enum):
    BASE = "base"
    CATALOG = "catalog"
    TAGS = "tags"
    MANIFEST = "manifest"
    BLOB = "blob"
    UPLOAD_START = "upload start"
    UPLOAD = "upload session"
    REFERRERS = "referrers"
    USAGE = "usage"                   # /v2/_usage: as the catalog
    REPOSITORY_USAGE = "repository usage"
    REPOSITORY = "repository"         # DELETE /v2/_repositories/<name>
    OTHER = "other"


# Route templates end in these words (whatever prefix is mounted before /v2/).
_TEMPLATE_ENDINGS = (
    ("/blobs/uploads/{upload_id}", RouteKind.UPLOAD),
    ("/blobs/uploads/", RouteKind.UPLOAD_START),
    ("/blobs/{digest}", RouteKind.BLOB),
    ("/manifests/{reference}", RouteKind.MANIFEST),
    ("/tags/list", RouteKind.TAGS),
    ("/referrers/{digest}", RouteKind.REFERRERS),
    ("/v2/_catalog", RouteKind.CATALOG),
    ("/v2/_usage", RouteKind.USAGE),
    ("/_usage", RouteKind.REPOSITORY_USAGE),
    ("/v2/_repositories/{name}", RouteKind.REPOSITORY),
    ("/v2/", RouteKind.BASE),
    ("/v2", RouteKind.BASE),
)


def route_kind(template: str) -> RouteKind:
    """The kind of an aiohttp route from its canonical template
    (`/v2/{name}/manifests/{reference}`)."""
    for ending, kind in _TEMPLATE_ENDINGS:
        if template.endswith(ending):
            return kind
    return RouteKind.OTHER


@dataclass(frozen=True, slots=True)
class Requirement:
    """Scopes a request needs (all of them; none means any authenticated
    caller), and a mount source's `pull` it would like to have."""
    scopes: tuple[Scope, ...] = ()
    mount_source: Scope | None = None

    def wanted(self) -> tuple[Scope, ...]:
        """What a challenge names: a token with all of it serves the request fully."""
        return self.scopes + ((self.mount_source,) if self.mount_source else ())


_READS = {"GET", "HEAD"}
_BY_METHOD = {
    RouteKind.MANIFEST: {"GET": (PULL,), "HEAD": (PULL,), "PUT": (PULL, PUSH), "DELETE": (DELETE,)},
    RouteKind.BLOB: {"GET": (PULL,), "HEAD": (PULL,), "DELETE": (DELETE,)},
    RouteKind.TAGS: {"GET": (PULL,), "HEAD": (PULL,)},
    RouteKind.REFERRERS: {"GET": (PULL,), "HEAD": (PULL,)},
    RouteKind.REPOSITORY_USAGE: {"GET": (PULL,), "HEAD": (PULL,)},
    RouteKind.REPOSITORY: {"DELETE": (DELETE,)},
    RouteKind.UPLOAD_START: {"POST": (PULL, PUSH)},
    RouteKind.UPLOAD: {method: (PULL, PUSH) for method in ("GET", "HEAD", "PATCH", "PUT", "DELETE")},
}


def required_access(method: str, kind: RouteKind, name: str | None,
                    query: Mapping[str, str]) -> Requirement:
    """The access a request needs. Raises NAME_INVALID for a malformed name,
    which must never reach a challenge header."""
    if kind in (RouteKind.CATALOG, RouteKind.USAGE):
        return Requirement((CATALOG,) if method in _READS else ())
    if kind is RouteKind.UPLOAD_START and "mount" in query:
        source = query.get("from")
        target = _required(method, kind, name)
        if target.scopes and source and source != name and is_valid_name(source):
            return Requirement(target.scopes, repository(source, PULL))
        return target
    return _required(method, kind, name)


@functools.lru_cache(maxsize=4096)
def _required(method: str, kind: RouteKind, name: str | None) -> Requirement:
    """Remembered per (method, kind, name): a hot manifest GET then costs a
    lookup, not a name check and new scopes (a malformed name raises, and
    is not remembered)."""
    actions = _BY_METHOD.get(kind, {}).get(method)
    if actions is None or name is None:
        return Requirement()
    return Requirement((repository(validate_name(name), *actions),))
