"""Named and anonymous volumes of a run, made when missing (docker's `-v
NAME:/path` creates on first use) and filled from the image when empty,
turned into the binds the spec mounts; under --userns=auto a new volume
is owned by the container's root (the first id of its range). Image VOLUMEs get no anonymous
volume: the path stays part of the container's own layer (README)."""
from __future__ import annotations

import os

from ..fs.idshift import shift_ownership
from ..runspec.build import RunOptions, Volume
from .copyup import fill_from_image
from .store import VolumeStore


def attach_volumes(root: str, snapshots: list[str], options: RunOptions) -> RunOptions:
    """options with its named volumes made, filled and added as binds."""
    store, binds = VolumeStore(root), []
    with store.locked():
        for named in options.named_volumes:
            record, _made = store.make(named.name)
            data = record["Mountpoint"]
            fresh = not os.listdir(data)
            if named.copy:
                fill_from_image(root, record["Name"], snapshots, named.container)
            if fresh and options.id_mapping is not None:  # its root owns a new volume, as podman
                mapping = options.id_mapping
                shift_ownership(data, mapping.uid, mapping.gid, mapping.size)
            binds.append(Volume(data, named.container, named.read_only))
    return options.replace(volumes=(*options.volumes, *binds), named_volumes=())
