"""Named and anonymous volumes of a run, made when missing (docker's `-v
NAME:/path` creates on first use) and filled from the image when empty,
turned into the binds the spec mounts. Image VOLUMEs get no anonymous
volume: the path stays part of the container's own layer (README)."""
from __future__ import annotations

from ..runspec.build import RunOptions, Volume
from .copyup import fill_from_image
from .store import VolumeStore


def attach_volumes(root: str, snapshots: list[str], options: RunOptions) -> RunOptions:
    """options with its named volumes made, filled and added as binds."""
    store, binds = VolumeStore(root), []
    with store.locked():
        for named in options.named_volumes:
            record, _made = store.make(named.name)
            if named.copy:
                fill_from_image(root, record["Name"], snapshots, named.container)
            binds.append(Volume(record["Mountpoint"], named.container, named.read_only))
    return options.replace(volumes=(*options.volumes, *binds), named_volumes=())
