"""The pull-through cache's settings: registry:2's `proxy` section (one
upstream for every repository) and pyreg's `pyreg.proxy.upstreams`, a list
of upstreams each serving the repositories under a name prefix:

    proxy:                          # registry:2's keys: every repository
      remoteurl: https://registry-1.docker.io
      username: ...                 # optional, with password
      ttl: 5m                       # how long a tag is trusted (see below)
    pyreg:
      proxy:
        upstreams:
          - prefix: docker.io/      # docker.io/library/alpine -> library/alpine there
            remoteurl: https://registry-1.docker.io
          - prefix: team/
            remoteurl: https://registry.example.com
            username: robot
            password: secret
            ttl: 1m
            push: true              # pushes to team/* stay local instead of 405

The longest matching prefix wins; `proxy.remoteurl` is the upstream of prefix
"" (everything no other prefix claims). The prefix is removed from the name
asked upstream.

`ttl` differs from Distribution's: Distribution deletes cached content after
it (168h), pyreg keeps content by digest for good (immutable; garbage
collection removes what no tag references) and uses the ttl for tags only: a
tag is served from the cache for `ttl` after the upstream last confirmed it,
then asked again (a HEAD, a GET only when it moved). Distribution asks the
upstream on every tag request; pyreg's default of 5 minutes bounds both the
staleness and the upstream requests (Docker Hub's rate limits).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from . import values as v

DEFAULT_TAG_TTL = 300.0
_UPSTREAM_KEYS = {"prefix", "remoteurl", "username", "password", "ttl", "push"}


@dataclass(frozen=True)
class Upstream:
    prefix: str                   # "" or ending in "/": the local names it serves
    remote_url: str               # "https://host[:port]", no trailing slash
    username: str | None = None
    password: str | None = None
    ttl: float = DEFAULT_TAG_TTL  # seconds a cached tag is served unconfirmed
    push: bool = False            # pushes accepted (kept local) instead of 405 UNSUPPORTED

    def claims(self, name: str) -> bool:
        return name.startswith(self.prefix)

    def remote_name(self, name: str) -> str:
        """The repository's name upstream. Docker Hub keeps official images
        under `library/`, which docker adds and other clients do not."""
        remote = name[len(self.prefix):]
        if "/" not in remote and self.remote_url.endswith("registry-1.docker.io"):
            remote = f"library/{remote}"
        return remote


@dataclass(frozen=True)
class ProxySettings:
    upstreams: tuple[Upstream, ...]  # longest prefix first

    def upstream_for(self, name: str) -> Upstream | None:
        return next((upstream for upstream in self.upstreams if upstream.claims(name)), None)


def as_remote_url(value: Any, key: str) -> str:
    """`proxy.remoteurl`: a base URL, or "" for no proxy (Distribution's default)."""
    return "" if value in ("", None) else v.as_base_url(value, key)


def as_upstreams(value: Any, key: str) -> tuple[Upstream, ...]:
    """`pyreg.proxy.upstreams`: a list of mappings, checked entry by entry."""
    if not isinstance(value, list):
        raise v.ConfigError(f"{key} must be a list of upstreams (prefix, remoteurl, ...)")
    return tuple(_upstream(entry, f"{key}[{index}]") for index, entry in enumerate(value))


def _upstream(entry: Any, key: str) -> Upstream:
    if not isinstance(entry, Mapping):
        raise v.ConfigError(f"{key} must be a mapping with prefix and remoteurl")
    unknown = sorted(set(map(str, entry)) - _UPSTREAM_KEYS)
    if unknown:
        raise v.ConfigError(f"{key}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_UPSTREAM_KEYS))})")
    for required in ("prefix", "remoteurl"):
        if required not in entry:
            raise v.ConfigError(f"{key}.{required} is required")
    prefix = v.as_string(entry["prefix"], f"{key}.prefix").strip("/")
    return Upstream(
        prefix=f"{prefix}/" if prefix else "",
        remote_url=v.as_base_url(entry["remoteurl"], f"{key}.remoteurl"),
        username=_optional(entry, "username", key), password=_optional(entry, "password", key),
        ttl=v.as_duration(entry.get("ttl", DEFAULT_TAG_TTL), f"{key}.ttl"),
        push=v.as_bool(entry.get("push", False), f"{key}.push"))


def _optional(entry: Mapping, name: str, key: str) -> str | None:
    value = entry.get(name)
    return None if value in (None, "") else v.as_string(value, f"{key}.{name}")


def build_proxy(fields: Mapping[str, Any]) -> ProxySettings | None:
    """The settings from the `proxy` fields of the table (remoteurl, username,
    password, ttl, upstreams), or None when no upstream is configured."""
    upstreams = list(fields.get("upstreams", ()))
    if fields.get("remoteurl"):
        upstreams.append(Upstream("", fields["remoteurl"], fields.get("username") or None,
                                  fields.get("password") or None,
                                  fields.get("ttl", DEFAULT_TAG_TTL)))
    elif any(fields.get(name) for name in ("username", "password", "ttl")):
        raise v.ConfigError("proxy.username, proxy.password and proxy.ttl need proxy.remoteurl")
    if not upstreams:
        return None
    prefixes = [upstream.prefix for upstream in upstreams]
    duplicate = next((prefix for prefix in prefixes if prefixes.count(prefix) > 1), None)
    if duplicate is not None:
        raise v.ConfigError(f"two proxy upstreams for the prefix {duplicate!r}")
    for upstream in upstreams:
        if (upstream.username is None) != (upstream.password is None):
            raise v.ConfigError(f"proxy upstream {upstream.remote_url}: username and password go together")
    return ProxySettings(tuple(sorted(upstreams, key=lambda up: len(up.prefix), reverse=True)))
