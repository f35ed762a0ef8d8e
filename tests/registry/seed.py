"""A small registry state pushed over HTTP before each table row, and the
helpers that build and push blobs and manifests."""
from __future__ import annotations

import hashlib
import json
import os
import uuid

from ocispec import mediatypes as mt

SIG_TYPE = "application/vnd.example.signature"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, data: bytes, **extra) -> dict:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def image_manifest(config: bytes, layers: list[bytes], media_type: str = mt.OCI_MANIFEST,
                   **extra) -> bytes:
    config_type = mt.DOCKER_CONFIG if media_type == mt.DOCKER_MANIFEST else mt.OCI_CONFIG
    layer_type = mt.DOCKER_LAYER_GZIP if media_type == mt.DOCKER_MANIFEST else mt.OCI_LAYER_GZIP
    data = {"schemaVersion": 2, "mediaType": media_type,
            "config": descriptor(config_type, config),
            "layers": [descriptor(layer_type, layer) for layer in layers], **extra}
    return json.dumps(data, indent=1).encode()


def index_manifest(manifests: list[bytes], **extra) -> bytes:
    data = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
            "manifests": [descriptor(mt.OCI_MANIFEST, raw) for raw in manifests], **extra}
    return json.dumps(data).encode()


async def push_blob(client, name: str, data: bytes) -> str:
    digest = sha256(data)
    response = await client.post(f"/v2/{name}/blobs/uploads/?digest={digest}", data=data)
    assert response.status == 201, await response.text()
    return digest


async def push_manifest(client, name: str, ref: str, raw: bytes,
                        media_type: str = mt.OCI_MANIFEST) -> str:
    response = await client.put(f"/v2/{name}/manifests/{ref}", data=raw,
                                headers={"Content-Type": media_type})
    assert response.status == 201, await response.text()
    return response.headers["Docker-Content-Digest"]


async def seed_registry(client) -> dict:
    """`seed/repo`: an image tagged a, b, c, v1 with a big layer and a signature
    referring to it, plus a 10-byte upload in progress; `other`: its own image."""
    layer, config = os.urandom(300 * 1024), b'{"architecture":"amd64","os":"linux"}'
    await push_blob(client, "seed/repo", layer)
    await push_blob(client, "seed/repo", config)
    manifest = image_manifest(config, [layer])
    for tag in ("a", "b", "c", "v1"):
        await push_manifest(client, "seed/repo", tag, manifest)
    subject = descriptor(mt.OCI_MANIFEST, manifest)
    referrer = image_manifest(config, [], artifactType=SIG_TYPE, subject=subject,
                              annotations={"org.example.signed-by": "tests"})
    await push_manifest(client, "seed/repo", sha256(referrer), referrer)
    other_layer = os.urandom(1000)
    await push_blob(client, "other", other_layer)
    await push_blob(client, "other", config)
    other_manifest = image_manifest(config, [other_layer])
    await push_manifest(client, "other", "latest", other_manifest)
    start = await client.post("/v2/seed/repo/blobs/uploads/")
    upload = start.headers["Docker-Upload-UUID"]
    patch = await client.patch(f"/v2/seed/repo/blobs/uploads/{upload}", data=b"0123456789",
                               headers={"Content-Range": "0-9"})
    assert patch.status == 202
    return {"layer": sha256(layer), "config": sha256(config), "manifest": sha256(manifest),
            "manifest_raw": manifest.decode(), "manifest_len": str(len(manifest)),
            "referrer": sha256(referrer), "referrer_len": len(referrer),
            "other_blob": sha256(other_layer), "other_manifest": sha256(other_manifest),
            "missing": sha256(b"missing"), "upload": upload,
            "upload_digest": sha256(b"0123456789"),
            "upload_plus": sha256(b"0123456789abcdefghij"), "unknown_upload": str(uuid.uuid4()),
            "_layer_bytes": layer, "_config_bytes": config, "_manifest_bytes": manifest}
