"""Build small, real images for runtime tests from Debian's static busybox,
without any network: a layer with /bin/busybox and a symlink per applet,
/etc/passwd and /etc/group, written into an OCI image layout under a ref.

`LayerBuilder` makes further layers, including whiteouts and the malicious
entries the unpack tests throw at the runtime.
"""
from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
import time
from pathlib import Path

from ocispec import mediatypes as mt
from ocispec.descriptor import Descriptor
from ocispec.digest import Digest
from ocispec.layout import OciLayout

BUSYBOX = "/bin/busybox"
BUSYBOX_REF = "docker.io/library/busybox:latest"
PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
          "app:x:1000:1000:app user:/home/app:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
GROUP = "root:x:0:\ndaemon:x:1:\napp:x:1000:\nstaff:x:50:app\nnogroup:x:65534:\n"
MTIME = 1_700_000_000


class LayerBuilder:
    """Accumulates tar entries in memory (layers here are small)."""

    def __init__(self):
        self.buffer = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buffer, mode="w", format=tarfile.PAX_FORMAT)

    def _add(self, info: tarfile.TarInfo, data: bytes | None = None) -> "LayerBuilder":
        info.mtime = info.mtime or MTIME
        self.tar.addfile(info, io.BytesIO(data) if data is not None else None)
        return self

    def dir(self, name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> "LayerBuilder":
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, mode, uid, gid
        return self._add(info)

    def file(self, name: str, data: bytes | str, mode: int = 0o644, uid: int = 0, gid: int = 0,
             xattrs: dict[str, str] | None = None) -> "LayerBuilder":
        raw = data.encode() if isinstance(data, str) else data
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.uid, info.gid = len(raw), mode, uid, gid
        if xattrs:
            info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
        return self._add(info, raw)

    def symlink(self, name: str, target: str) -> "LayerBuilder":
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
        return self._add(info)

    def hardlink(self, name: str, target: str) -> "LayerBuilder":
        info = tarfile.TarInfo(name)
        info.type, info.linkname = tarfile.LNKTYPE, target
        return self._add(info)

    def chardev(self, name: str, major: int, minor: int) -> "LayerBuilder":
        info = tarfile.TarInfo(name)
        info.type, info.devmajor, info.devminor, info.mode = tarfile.CHRTYPE, major, minor, 0o666
        return self._add(info)

    def fifo(self, name: str) -> "LayerBuilder":
        info = tarfile.TarInfo(name)
        info.type, info.mode = tarfile.FIFOTYPE, 0o644
        return self._add(info)

    def whiteout(self, path: str) -> "LayerBuilder":
        parent, _, name = path.rpartition("/")
        return self.file(f"{parent}/.wh.{name}" if parent else f".wh.{name}", b"")

    def opaque(self, directory: str) -> "LayerBuilder":
        return self.file(f"{directory.rstrip('/')}/.wh..wh..opq", b"")

    def tar_bytes(self) -> bytes:
        self.tar.close()
        return self.buffer.getvalue()


def busybox_layer() -> LayerBuilder:
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    layer = LayerBuilder()
    for directory in ("bin", "etc", "root", "tmp", "home", "home/app", "proc", "sys", "dev"):
        layer.dir(directory, 0o1777 if directory == "tmp" else 0o755,
                  *((1000, 1000) if directory == "home/app" else (0, 0)))
    layer.file("bin/busybox", Path(BUSYBOX).read_bytes(), 0o755)
    for applet in applets:
        if applet != "busybox":
            layer.symlink(f"bin/{applet}", "busybox")
    layer.file("etc/passwd", PASSWD).file("etc/group", GROUP)
    return layer


def compress(tar: bytes, media_type: str) -> bytes:
    if media_type in mt.GZIP_LAYERS:
        return gzip.compress(tar, compresslevel=1, mtime=0)
    if media_type in mt.ZSTD_LAYERS:
        return subprocess.run(["zstd", "-q", "-c"], input=tar, capture_output=True, check=True).stdout
    return tar


def write_image(layout_root: str | Path, ref_name: str, layers: list[bytes],
                media_types: list[str] | None = None, config: dict | None = None,
                diff_ids: list[str] | None = None) -> Digest:
    """Write layers (uncompressed tars), config and manifest; tag ref_name."""
    layout = OciLayout(layout_root).init()
    media_types = media_types or [mt.OCI_LAYER_GZIP] * len(layers)
    descriptors = []
    for tar, media_type in zip(layers, media_types):
        blob = compress(tar, media_type)
        descriptors.append(Descriptor(media_type, layout.write_blob(blob), len(blob)))
    image_config = {
        "architecture": "amd64", "os": "linux", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config": config if config is not None else {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers",
                   "diff_ids": diff_ids or [str(Digest.of_bytes(t)) for t in layers]},
        # one entry per layer, as real images have (buildah refuses a base without)
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": f"layer {index}"}
                    for index in range(len(layers))]}
    raw_config = json.dumps(image_config).encode()
    config_descriptor = Descriptor(mt.OCI_CONFIG, layout.write_blob(raw_config), len(raw_config))
    manifest = {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                "config": config_descriptor.to_json(), "layers": [d.to_json() for d in descriptors]}
    raw_manifest = json.dumps(manifest).encode()
    digest = layout.write_blob(raw_manifest)
    layout.set_ref(ref_name, Descriptor(mt.OCI_MANIFEST, digest, len(raw_manifest)))
    return digest


def build_busybox_image(root: str | Path, ref_name: str = BUSYBOX_REF,
                        extra_layers: list[bytes] = (), config: dict | None = None,
                        media_types: list[str] | None = None) -> Digest:
    """A busybox image in `<root>/images` (the pyreg local store layout)."""
    layers = [busybox_layer().tar_bytes(), *extra_layers]
    return write_image(Path(root) / "images", ref_name, layers, media_types, config)
