"""`pyreg bundle IMAGE DIR`: a self-contained OCI runtime bundle
(`config.json` + a flattened `rootfs/`) for runc or crun. (`pyreg run
--runtime runc` hands a container's own directory over instead: runc.py.)
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import RuntimeFailure
from ..fs.rootfs import flatten, read_image_file
from ..image.cache import find_image
from ..runspec.build import RunOptions, build_spec
from ..runspec.users import resolve_user


class BundleError(RuntimeFailure):
    pass


def write_bundle(root: str, image_name: str, directory: str, options: RunOptions) -> dict:
    """Write DIR/config.json and DIR/rootfs (a flattened copy); return the spec."""
    if options.named_volumes or options.userns is not None:
        raise BundleError("a bundle takes no named volumes and no --userns: they live in "
                          "pyreg's store, which the bundle's runtime does not read")
    image = find_image(root, image_name)
    snapshots = image.snapshots
    target = Path(directory)
    if (target / "rootfs").exists() and any((target / "rootfs").iterdir()):
        raise BundleError(f"{target / 'rootfs'} already exists and is not empty")
    user = resolve_user(options.user or image.config.get("User") or "",
                        lambda path: read_image_file(snapshots, path))
    spec = build_spec(image.config, options, user)
    (target / "rootfs").mkdir(parents=True, exist_ok=True)
    flatten(snapshots, str(target / "rootfs"))
    (target / "config.json").write_text(json.dumps(spec, indent=2))
    return spec
