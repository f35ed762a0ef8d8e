"""What the hostile rows run against: a seeded repository (pushed over
ordinary HTTP before the table runs), a fresh upload session per row that
needs one, and a snapshot of every file under the storage root, so a row
can prove that it wrote nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = "hostile/app"
OTHER_REPO = "hostile/other"   # holds a blob that hostile/app must not see
TAG = "v1"
UPLOAD_PREFIX = b"0123456789"  # every fresh upload session already holds these 10 bytes
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Seed:
    """The seeded objects rows refer to; `upload` is this row's own session
    path (`/v2/<repo>/blobs/uploads/<uuid>`), or "" when it needs none."""
    config: bytes
    layer: bytes
    foreign: bytes          # a blob linked only into OTHER_REPO
    manifest: bytes
    upload: str = ""

    def descriptor(self, data: bytes, media_type: str = OCI_LAYER) -> dict:
        return {"mediaType": media_type, "digest": sha256(data), "size": len(data)}

    def manifest_with(self, layers: list[dict] | None = None, **fields) -> bytes:
        """An image manifest over the seeded config, with fields replaced."""
        data = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": self.descriptor(self.config, OCI_CONFIG),
                "layers": layers if layers is not None else [self.descriptor(self.layer)]}
        data.update(fields)
        return json.dumps(data).encode()


def _call(url: str, method: str, body: bytes = b"", headers: dict | None = None):
    request = urllib.request.Request(url, data=body if method in ("POST", "PUT", "PATCH") else None,
                                     method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers


def push_blob(base: str, repo: str, data: bytes) -> None:
    status, _ = _call(f"{base}/v2/{repo}/blobs/uploads/?digest={sha256(data)}", "POST", data,
                      {"Content-Type": "application/octet-stream"})
    assert status == 201


def seed_registry(base: str) -> Seed:
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    seed = Seed(config=config, layer=os.urandom(3000), foreign=os.urandom(2000), manifest=b"")
    push_blob(base, REPO, seed.config)
    push_blob(base, REPO, seed.layer)
    push_blob(base, OTHER_REPO, seed.foreign)
    manifest = seed.manifest_with()
    status, _ = _call(f"{base}/v2/{REPO}/manifests/{TAG}", "PUT", manifest,
                      {"Content-Type": OCI_MANIFEST})
    assert status == 201
    return Seed(config, seed.layer, seed.foreign, manifest)


def open_upload(base: str) -> str:
    """A new session on REPO holding UPLOAD_PREFIX; returns its path."""
    status, headers = _call(f"{base}/v2/{REPO}/blobs/uploads/", "POST")
    assert status == 202
    location = headers["Location"]
    path = location.split("://", 1)[-1]
    path = path[path.index("/"):] if not location.startswith("/") else location
    status, _ = _call(f"{base}{path}", "PATCH", UPLOAD_PREFIX,
                      {"Content-Type": "application/octet-stream", "Content-Range": "0-9"})
    assert status == 202
    return path


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under `root` (hidden temp files included) with its size and hash."""
    files = {}
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue  # removed while we walked
            files[str(path.relative_to(root))] = (len(data), hashlib.sha256(data).hexdigest()[:16])
    return files


def changes(before: dict, after: dict, may_change: str | None = None) -> list[str]:
    """Files that appeared, changed or vanished. An upload session may be
    discarded after a failure, so files under `_uploads/` may vanish; files
    under `may_change` (a row's own session, or where sessions start) may
    also appear or change."""
    found = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) == after.get(path):
            continue
        if path not in after and "/_uploads/" in path:
            continue
        if path in after and may_change and path.startswith(may_change):
            continue
        found.append(f"{'new' if path not in before else 'gone' if path not in after else 'changed'}: {path}")
    return found
