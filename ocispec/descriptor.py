"""Content descriptors (image-spec descriptor.md)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .digest import Digest
from .errors import ErrorCode, OciError


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""

    @classmethod
    def from_json(cls, data: Any) -> "Platform | None":
        if not isinstance(data, dict):
            return None
        return cls(str(data.get("os", "")), str(data.get("architecture", "")),
                   str(data.get("variant", "") or ""), str(data.get("os.version", "") or ""))

    @classmethod
    def parse(cls, text: str) -> "Platform":
        """`os/arch[/variant]`, as docker's --platform takes it."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"invalid platform {text!r}: want os/arch[/variant]")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else "")

    def to_json(self) -> dict:
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        if self.os_version:
            out["os.version"] = self.os_version
        return out

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    annotations: dict[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    artifact_type: str = ""
    urls: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any, where: str = "descriptor") -> "Descriptor":
        if not isinstance(data, dict):
            raise OciError(ErrorCode.MANIFEST_INVALID, f"{where} is not an object")
        size = data.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise OciError(ErrorCode.MANIFEST_INVALID, f"{where} has an invalid size")
        media_type = data.get("mediaType")
        if not isinstance(media_type, str) or not media_type:
            raise OciError(ErrorCode.MANIFEST_INVALID, f"{where} has no mediaType")
        try:
            digest = Digest.parse(data.get("digest"))
        except OciError:
            raise OciError(ErrorCode.MANIFEST_INVALID, f"{where} has an invalid digest") from None
        annotations = data.get("annotations") or {}
        if not isinstance(annotations, dict):
            raise OciError(ErrorCode.MANIFEST_INVALID, f"{where} has invalid annotations")
        urls = data.get("urls") or ()
        if not isinstance(urls, (list, tuple)) or not all(isinstance(u, str) for u in urls):
            raise OciError(ErrorCode.MANIFEST_INVALID, f"{where} has invalid urls")
        return cls(media_type, digest, size, {str(k): str(v) for k, v in annotations.items()},
                   Platform.from_json(data.get("platform")),
                   str(data.get("artifactType") or ""), tuple(str(u) for u in urls))

    def to_json(self) -> dict:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest),
                               "size": self.size}
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        if self.urls:
            out["urls"] = list(self.urls)
        return out
