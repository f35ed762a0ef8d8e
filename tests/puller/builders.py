"""Small random images built for tests, as OCI layouts that skopeo can push."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

from ocispec import mediatypes as mt
from ocispec.descriptor import Descriptor, Platform
from ocispec.digest import Digest
from ocispec.layout import OciLayout


def layer_tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def random_layer(size: int, name: str = "data.bin") -> tuple[bytes, bytes]:
    """(gzip blob, uncompressed tar) holding `size` random bytes."""
    tar = layer_tar({name: os.urandom(size)})
    return gzip.compress(tar, compresslevel=1, mtime=0), tar


def write_image(layout: OciLayout, layer_sizes: list[int], arch: str = "amd64",
                ref_name: str | None = "latest") -> Descriptor:
    """An image manifest with random gzip layers; named `ref_name` when given."""
    layout.init()
    layers, diff_ids = [], []
    for index, size in enumerate(layer_sizes):
        blob, tar = random_layer(size, f"layer{index}.bin")
        layers.append(Descriptor(mt.OCI_LAYER_GZIP, layout.write_blob(blob), len(blob)).to_json())
        diff_ids.append(f"sha256:{hashlib.sha256(tar).hexdigest()}")
    config = json.dumps({"architecture": arch, "os": "linux",
                         "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    config_descriptor = Descriptor(mt.OCI_CONFIG, layout.write_blob(config), len(config))
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                           "config": config_descriptor.to_json(), "layers": layers}).encode()
    descriptor = Descriptor(mt.OCI_MANIFEST, layout.write_blob(manifest), len(manifest),
                            platform=Platform("linux", arch))
    if ref_name:
        layout.set_ref(ref_name, descriptor)
    return descriptor


def write_index(layout: OciLayout, arches: list[str], ref_name: str = "latest") -> Descriptor:
    children = [write_image(layout, [2000, 3000], arch, None) for arch in arches]
    index = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
                        "manifests": [c.to_json() for c in children]}).encode()
    descriptor = Descriptor(mt.OCI_INDEX, layout.write_blob(index), len(index))
    layout.set_ref(ref_name, descriptor)
    return descriptor


def build_layout(directory: Path, layer_sizes: list[int], tag: str = "latest") -> Descriptor:
    return write_image(OciLayout(directory), layer_sizes, ref_name=tag)


def manifest_digest(layout_dir: Path, ref_name: str) -> Digest:
    descriptor = OciLayout(layout_dir).resolve(ref_name)
    assert descriptor is not None, f"{ref_name} not in {layout_dir}"
    return descriptor.digest


def live_upload_sessions(storage_root: Path, repository: str) -> list[str]:
    """Upload sessions a registry:2-layout storage (Distribution's or pyreg's)
    still holds for `repository`. Distribution 2.8.2 leaves an empty
    hashstates folder behind a cancelled session; without its `startedat`
    and `data` the session is gone (its API answers BLOB_UPLOAD_UNKNOWN)."""
    uploads = storage_root / "docker/registry/v2/repositories" / repository / "_uploads"
    if not uploads.exists():
        return []
    return [s.name for s in uploads.iterdir()
            if (s / "startedat").exists() or (s / "data").exists()]
