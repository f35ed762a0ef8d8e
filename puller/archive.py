"""`pyreg load`: which kind of input is this (docker-archive tar, OCI archive
tar, OCI layout directory), and how its names map to the store's full
references. (`pyreg save` writes docker-archives: docker_archive.py.)"""
from __future__ import annotations

import asyncio
import re
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from ocispec.descriptor import Descriptor
from ocispec.layout import REF_NAME, OciLayout

from .copy import copy_image
from .copy_ends import LayoutDest, LayoutSource
from .docker_archive import load_docker_archive
from .errors import ArchiveError
from .store import LocalStore, normalize_ref_name

CONTAINERD_NAME = "io.containerd.image.name"


def load_any(store: LocalStore, path: str) -> list[str]:
    source = Path(path)
    if source.is_dir():
        if not (source / "oci-layout").is_file():
            raise ArchiveError(f"{path} is a directory but not an OCI layout (no oci-layout file)")
        return load_oci_layout(store, OciLayout(source), source.name)
    if not source.is_file():
        raise ArchiveError(f"{path}: no such file or directory")
    try:
        with tarfile.open(source, "r:*") as tar:
            names = set(n.removeprefix("./") for n in tar.getnames())
    except tarfile.TarError:
        raise ArchiveError(f"{path} is not a tar archive") from None
    if "manifest.json" in names:
        return load_docker_archive(store, str(source))
    if "index.json" in names and "oci-layout" in names:
        return load_oci_archive(store, source)
    raise ArchiveError(f"{path} is neither a docker-archive nor an OCI archive")


def _repository_from(stem: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return cleaned or "image"


def name_for(descriptor: Descriptor, stem: str) -> str | None:
    """The store name of an index.json entry of a foreign layout: a full
    reference stays one; a bare tag becomes `localhost/<stem>:<tag>`."""
    full = descriptor.annotations.get(CONTAINERD_NAME)
    ref_name = descriptor.annotations.get(REF_NAME)
    for candidate in (full, ref_name):
        if candidate and ("/" in candidate or "@" in candidate):
            try:
                return normalize_ref_name(candidate)
            except ValueError:
                continue
    if ref_name:
        try:
            return normalize_ref_name(f"localhost/{_repository_from(stem)}:{ref_name}")
        except ValueError:
            raise ArchiveError(f"cannot make a reference from name {ref_name!r}") from None
    return None


def load_oci_layout(store: LocalStore, layout: OciLayout, stem: str) -> list[str]:
    entries = layout.index()
    named = [(name_for(d, stem), d) for d in entries]
    if len(entries) == 1 and named[0][0] is None:
        named = [(normalize_ref_name(f"localhost/{_repository_from(stem)}:latest"), entries[0])]
    named = [(n, d) for n, d in named if n]
    if not named:
        raise ArchiveError("the OCI layout names no image")
    store.init()

    async def copy_all() -> None:
        for name, descriptor in named:
            source = LayoutSource(layout, name, descriptor)
            await copy_image(source, LayoutDest(store.layout, name), platform=None)

    with store.pinned():
        asyncio.run(copy_all())
    return [n for n, _ in named]


def safe_extract_layout(tar: tarfile.TarFile, target: Path) -> None:
    """Extract only `oci-layout`, `index.json` and `blobs/<alg>/<hex>` regular
    files; anything else (links, devices, paths leaving target) is refused."""
    for member in tar.getmembers():
        parts = PurePosixPath(member.name.removeprefix("./")).parts
        if member.isdir() or not parts:
            continue
        allowed = parts in (("oci-layout",), ("index.json",)) or (
            len(parts) == 3 and parts[0] == "blobs" and all(re.fullmatch(r"[a-z0-9]+", p) for p in parts[1:]))
        if not allowed:
            continue  # docker's manifest.json, repositories: ignore
        if not member.isfile():
            raise ArchiveError(f"{member.name} in the archive is not a regular file")
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with tar.extractfile(member) as source, open(destination, "wb") as out:
            shutil.copyfileobj(source, out, 1024 * 1024)


def load_oci_archive(store: LocalStore, path: Path) -> list[str]:
    store.init()
    with tempfile.TemporaryDirectory(dir=store.layout.ingest_dir, prefix="oci-archive-") as scratch:
        with tarfile.open(path, "r:*") as tar:
            safe_extract_layout(tar, Path(scratch))
        stem = path.name.split(".")[0]
        return load_oci_layout(store, OciLayout(scratch), stem)
