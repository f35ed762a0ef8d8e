"""registry:2's event and envelope, as Distribution's notifications send them:

    POST <endpoint url>
    Content-Type: application/vnd.docker.distribution.events.v1+json
    {"events": [{"id", "timestamp", "action", "target": {...}, "request": {...},
                 "actor": {...}, "source": {...}}]}

`target` carries mediaType, size, digest, length, repository, url and, where
they apply, tag, fromRepository (a mount) and references (a manifest's
blobs, with `includereferences`).
"""
from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass

MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json"
BLOB_MEDIA_TYPE = "application/octet-stream"  # what Distribution reports for layers


@dataclass(frozen=True, slots=True)
class RequestInfo:
    id: str
    addr: str
    host: str
    method: str
    useragent: str


@dataclass(frozen=True, slots=True)
class Source:
    addr: str
    instance_id: str


def make_event(action: str, target: dict, request: RequestInfo, source: Source,
               actor: str | None = None) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
        "action": action,
        "target": {key: value for key, value in target.items() if value is not None},
        "request": {"id": request.id, "addr": request.addr, "host": request.host,
                    "method": request.method, "useragent": request.useragent},
        "actor": {"name": actor} if actor else {},
        "source": {"addr": source.addr, "instanceID": source.instance_id},
    }


def target(repository: str, media_type: str | None = None, digest: str | None = None,
           size: int | None = None, url: str | None = None, tag: str | None = None,
           from_repository: str | None = None, references: list[dict] | None = None) -> dict:
    return {"mediaType": media_type, "size": size, "digest": digest, "length": size,
            "repository": repository, "fromRepository": from_repository, "url": url, "tag": tag,
            "references": references}


def envelope(events: list[dict]) -> bytes:
    return json.dumps({"events": events}, separators=(",", ":")).encode()
