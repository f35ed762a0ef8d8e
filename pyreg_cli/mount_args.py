"""`-v`, `--mount` and `--tmpfs` of run and create, read into the runtime's
typed mounts: binds (host paths checked to exist, as docker does), named
and anonymous volumes, and tmpfs mounts. A bad one is one line, exit 125."""
from __future__ import annotations

import os

from pyreg_cli.main import CliError
from runtime.errors import EXIT_SETUP_FAILED, RuntimeFailure


def mount_options(args) -> dict:
    """RunOptions' volumes, named_volumes and tmpfs, from the parsed args."""
    from runtime.runspec.build import Volume
    from runtime.runspec.mountspec import Tmpfs, parse_mount, parse_tmpfs, parse_volume_flag
    try:
        mounts = [parse_volume_flag(v) for v in args.volume]
        mounts += [parse_mount(m) for m in getattr(args, "mount", [])]
        mounts += [parse_tmpfs(t) for t in getattr(args, "tmpfs", [])]
    except RuntimeFailure as err:
        raise CliError(str(err), EXIT_SETUP_FAILED) from None
    destinations = [m.container for m in mounts]
    repeated = sorted({d for d in destinations if destinations.count(d) > 1})
    if repeated:
        raise CliError(f"duplicate mount point: {repeated[0]}", EXIT_SETUP_FAILED)
    binds = tuple(m for m in mounts if isinstance(m, Volume))
    for bind in binds:
        if not os.path.exists(bind.host):
            raise CliError(f"volume source {bind.host} does not exist", EXIT_SETUP_FAILED)
    return {"volumes": binds, "tmpfs": tuple(m for m in mounts if isinstance(m, Tmpfs)),
            "named_volumes": tuple(m for m in mounts if not isinstance(m, (Volume, Tmpfs)))}
