"""The one small image every end-to-end test moves around, built without
network from Debian's static busybox (tests/support/busybox_image.py):

- as a plain rootfs tar, for `podman import` and `docker import`;
- as an OCI image layout with the ref name `e2e`, for `skopeo copy oci:`;
- as a pyreg local store holding `localhost/e2e/bb:1`, for `pyreg push`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ocispec.digest import Digest
from tests.support.busybox_image import build_busybox_image, busybox_layer, write_image

LAYOUT_REF = "e2e"
STORE_REF = "localhost/e2e/bb:1"
GREETING = "hello from pyreg e2e"


@dataclass(frozen=True)
class E2eImage:
    rootfs_tar: Path      # a bare rootfs: /bin/busybox, applet links, /etc/passwd
    layout: Path          # OCI image layout, ref LAYOUT_REF
    layout_digest: Digest
    store: Path           # pyreg --root holding STORE_REF
    store_digest: Digest

    @property
    def layout_source(self) -> str:
        return f"oci:{self.layout}:{LAYOUT_REF}"


def build_e2e_image(workdir: Path) -> E2eImage:
    workdir.mkdir(parents=True, exist_ok=True)
    layer = busybox_layer().tar_bytes()
    rootfs_tar = workdir / "rootfs.tar"
    rootfs_tar.write_bytes(layer)
    layout = workdir / "layout"
    layout_digest = write_image(layout, LAYOUT_REF, [layer])
    store = workdir / "store"
    store_digest = build_busybox_image(store, STORE_REF)
    return E2eImage(rootfs_tar, layout, layout_digest, store, store_digest)
