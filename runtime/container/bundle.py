"""OCI runtime bundles (`config.json` + `rootfs/`) for runc and crun:
`pyreg bundle IMAGE DIR` writes a self-contained one, and `pyreg run
--runtime runc` hands a container's directory to runc as its bundle.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from ..fs.rootfs import RootfsPlan, flatten, mount_rootfs, read_image_file
from ..image import cache
from ..inside import process
from ..spec.build import RunOptions, build_spec
from ..spec.users import resolve_user


class BundleError(Exception):
    pass


def write_bundle(root: str, image_name: str, directory: str, options: RunOptions) -> dict:
    """Write DIR/config.json and DIR/rootfs (a flattened copy); return the spec."""
    image = cache.resolve(root, image_name)
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


def runtime_binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        raise process.StartError(f"runtime {name!r} is not installed")
    return path


def runtime_id(container_id: str) -> str:
    return container_id[:32]


def _state_exists(runtime: str, container_id: str) -> bool:
    """Whether the runtime still holds state for the container (runc and
    crun keep it in /run/<name>/<id> for root); unsure means yes."""
    if os.geteuid() != 0:
        return True
    return os.path.isdir(os.path.join("/run", runtime, runtime_id(container_id)))


def delete_container(runtime: str, container_id: str) -> None:
    """`runc delete --force`: kill what is left, remove the runtime's state
    and the cgroups it made. Quiet when there is nothing to delete."""
    if not _state_exists(runtime, container_id):
        return
    try:
        binary = runtime_binary(runtime)
    except process.StartError:
        return
    subprocess.run([binary, "delete", "--force", runtime_id(container_id)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def start_with_runc(runtime: str, bundle: str, plan: RootfsPlan, container_id: str,
                    stdio: process.Stdio) -> int:
    """Mount the rootfs and start `runc run`; runc forwards our signals to the
    container and exits with its exit code."""
    binary = runtime_binary(runtime)
    mount_rootfs(plan)
    try:
        child = subprocess.Popen([binary, "run", "--bundle", bundle, runtime_id(container_id)],
                                 stdin=stdio.stdin, stdout=stdio.stdout, stderr=stdio.stderr,
                                 start_new_session=stdio.terminal is None and stdio.stdin != 0)
    except OSError as err:
        raise process.StartError(f"cannot start {runtime}: {err}") from None
    return child.pid
