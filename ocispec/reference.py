"""Repository names, tags and image references (`host/repo:tag@digest`).

Names are validated here, before they ever become a storage path or key.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .digest import Digest
from .errors import ErrorCode, OciError

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
MAX_NAME_LENGTH = 255
_DOMAIN_RE = re.compile(r"^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"


def is_valid_name(name: str) -> bool:
    return isinstance(name, str) and len(name) <= MAX_NAME_LENGTH and bool(NAME_RE.fullmatch(name))


def validate_name(name: str) -> str:
    if not is_valid_name(name):
        raise OciError(ErrorCode.NAME_INVALID, "invalid repository name", {"name": str(name)[:300]})
    return name


def is_valid_tag(tag: str) -> bool:
    return isinstance(tag, str) and bool(TAG_RE.fullmatch(tag))


@dataclass(frozen=True)
class Reference:
    """A docker-style image reference, normalized like docker's."""
    registry: str
    repository: str
    tag: str = ""
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str, default_tag: str = "latest") -> "Reference":
        """`busybox` -> docker.io/library/busybox:latest. Raises ValueError."""
        original = text
        digest = None
        if "@" in text:
            text, digest_text = text.split("@", 1)
            try:
                digest = Digest.parse(digest_text)
            except OciError as err:
                raise ValueError(f"invalid reference {original!r}: {err.message}") from None
        tag = ""
        slash, colon = text.rfind("/"), text.rfind(":")
        if colon > slash:
            text, tag = text[:colon], text[colon + 1:]
            if not is_valid_tag(tag):
                raise ValueError(f"invalid reference {original!r}: bad tag {tag!r}")
        registry, repository = _split_domain(text)
        if not is_valid_name(repository):
            raise ValueError(f"invalid reference {original!r}: bad repository name {repository!r}")
        if not tag and digest is None:
            tag = default_tag
        return cls(registry, repository, tag, digest)

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def identifier(self) -> str:
        """What goes after /manifests/: the digest when pinned, else the tag."""
        return str(self.digest) if self.digest else self.tag

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def _split_domain(text: str) -> tuple[str, str]:
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not _DOMAIN_RE.fullmatch(first):
            raise ValueError(f"invalid registry host {first!r}")
        return first, rest
    if "/" not in text:
        return DOCKER_HUB, f"library/{text}"
    return DOCKER_HUB, text
