"""A small random OCI image layout for peer tests (skopeo reads `oci:DIR:TAG`)."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

from ocispec import mediatypes as mt


def _write_blob(root: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    path = root / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def random_layer(size: int) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        content = os.urandom(size)
        info = tarfile.TarInfo(f"data-{content[:4].hex()}.bin")
        info.size, info.mtime = len(content), 1_700_000_000
        tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)


def build_layout(root: Path, tag: str = "v1", layer_sizes=(3 * 1024 * 1024, 2048)) -> str:
    """Write an image with random layers; returns its manifest digest."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    layers = [random_layer(size) for size in layer_sizes]
    diff_ids = ["sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest() for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": mt.OCI_CONFIG, **_write_blob(root, config)},
        "layers": [{"mediaType": mt.OCI_LAYER_GZIP, **_write_blob(root, layer)} for layer in layers],
    }).encode()
    descriptor = {"mediaType": mt.OCI_MANIFEST, **_write_blob(root, manifest),
                  "annotations": {"org.opencontainers.image.ref.name": tag}}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor]}))
    return descriptor["digest"]


def layout_blobs(root: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in (root / "blobs" / "sha256").iterdir()}
