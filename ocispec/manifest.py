"""Parsing image manifests and indexes from their exact bytes.

The registry stores the bytes as sent; this module only reads what it needs
to check references and answer the referrers API.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import mediatypes as mt
from .descriptor import Descriptor
from .digest import Digest
from .errors import ErrorCode, OciError

MAX_MANIFEST_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest or index. `raw` is the exact bytes received."""
    media_type: str
    raw: bytes
    digest: Digest
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    artifact_type: str = ""
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return self.media_type in mt.INDEXES

    def blob_references(self) -> tuple[Descriptor, ...]:
        """Blobs that must exist for this manifest to be accepted."""
        config = (self.config,) if self.config is not None else ()
        return config + self.layers

    def effective_artifact_type(self) -> str:
        """What the referrers API reports: artifactType, else config mediaType."""
        if self.artifact_type:
            return self.artifact_type
        if self.config is not None and not self.is_index:
            return self.config.media_type
        return ""


def _descriptors(data: dict, key: str) -> tuple[Descriptor, ...]:
    items = data.get(key)
    if items is None:
        return ()
    if not isinstance(items, list):
        raise OciError(ErrorCode.MANIFEST_INVALID, f"{key} is not a list")
    return tuple(Descriptor.from_json(item, f"{key}[{i}]") for i, item in enumerate(items))


def _detect_media_type(data: dict, content_type: str | None) -> str:
    declared = data.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise OciError(ErrorCode.MANIFEST_INVALID, "mediaType is not a string")
    if content_type and declared and content_type != declared:
        raise OciError(ErrorCode.MANIFEST_INVALID,
                       f"mediaType {declared!r} does not match Content-Type {content_type!r}")
    media_type = declared or content_type
    if not media_type:
        media_type = mt.OCI_INDEX if "manifests" in data else mt.OCI_MANIFEST
    return media_type


def parse_manifest(raw: bytes, content_type: str | None = None,
                   digest: Digest | None = None) -> Manifest:
    """Validate a manifest's bytes; raises OciError(MANIFEST_INVALID)."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise OciError(ErrorCode.SIZE_TOO_LARGE, "manifest exceeds 4 MiB", status=413)
    content_type = (content_type or "").split(";")[0].strip() or None
    try:
        data = json.loads(raw)
    except RecursionError:  # hostile nesting: the parser gives up before the stack does
        raise OciError(ErrorCode.MANIFEST_INVALID, "manifest is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise OciError(ErrorCode.MANIFEST_INVALID, "manifest is not valid JSON") from None
    if not isinstance(data, dict):
        raise OciError(ErrorCode.MANIFEST_INVALID, "manifest is not a JSON object")
    media_type = _detect_media_type(data, content_type)
    if media_type in (mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_SIGNED):
        raise OciError(ErrorCode.MANIFEST_INVALID, "schema 1 manifests are not supported")
    if data.get("schemaVersion") != 2:
        raise OciError(ErrorCode.MANIFEST_INVALID, "schemaVersion must be 2")
    subject = data.get("subject")
    annotations = data.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise OciError(ErrorCode.MANIFEST_INVALID, "annotations is not an object")
    common: dict[str, Any] = dict(
        media_type=media_type, raw=raw, digest=digest or Digest.of_bytes(raw),
        subject=Descriptor.from_json(subject, "subject") if subject is not None else None,
        artifact_type=str(data.get("artifactType") or ""),
        annotations={str(k): str(v) for k, v in annotations.items()})
    if media_type in mt.INDEXES or (media_type not in mt.IMAGE_MANIFESTS and "manifests" in data):
        return Manifest(manifests=_descriptors(data, "manifests"), **common)
    config = data.get("config")
    if config is None:
        raise OciError(ErrorCode.MANIFEST_INVALID, "image manifest has no config")
    return Manifest(config=Descriptor.from_json(config, "config"),
                    layers=_descriptors(data, "layers"), **common)
