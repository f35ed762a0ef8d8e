"""Reading built images back for the build tests: an image's config fields
and its file tree (flattened from its layers by pyreg's own unpacker, with
whiteouts applied), from pyreg's store or from an archive a peer saved."""
from __future__ import annotations

from pathlib import Path

from puller.docker_archive import load_docker_archive
from puller.store import LocalStore
from runtime.fs.rootfs import flatten
from runtime.image.resolve import resolve_image
from runtime.image.snapshots import ensure_snapshots
from tests.builder.trees import describe

# The config fields the issue compares between builders
COMPARED_FIELDS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels",
                   "StopSignal", "Healthcheck", "OnBuild", "Shell")


def image_config(root: Path, name: str) -> dict:
    """The whole image config of a stored image."""
    return LocalStore(root).resolve_image(name)[2]


def compared(config: dict) -> dict:
    settings = config.get("config") or {}
    # docker writes `User: root` where USER root was the last word; pyreg and buildah write it too
    return {field: settings.get(field) or None for field in COMPARED_FIELDS}


def image_tree(root: Path, name: str, into: Path) -> dict:
    """The file tree of a stored image: describe() of its flattened layers."""
    snapshots = ensure_snapshots(root, resolve_image(root, name))
    into.mkdir(parents=True, exist_ok=True)
    flatten([str(path) for path in snapshots], str(into))
    return describe(into)


def archive_tree(archive: Path, scratch: Path) -> tuple[dict, dict]:
    """(config, file tree) of the one image in a docker-archive."""
    store = LocalStore(scratch / "store").init()
    name = load_docker_archive(store, str(archive))[0]
    return image_config(scratch / "store", name), image_tree(scratch / "store", name, scratch / "tree")


def differences(ours: dict, theirs: dict) -> dict:
    """path -> (ours, theirs) where the trees disagree."""
    return {path: (ours.get(path), theirs.get(path)) for path in sorted(set(ours) | set(theirs))
            if ours.get(path) != theirs.get(path)}
