"""`pyreg copy` locations, in skopeo's spelling:

    docker://HOST/REPO:TAG  (or a bare reference)   a registry
    oci:DIR[:TAG]                                   an OCI image layout
    docker-archive:FILE[:REF]                       a docker save tar

Archives are not random-access image stores, so they pass through a scratch
OCI layout on disk (never memory) on their way in or out.
"""
from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

from ocispec.layout import OciLayout
from ocispec.reference import Reference

from .copy_ends import LayoutDest, LayoutSource, RegistryDest, RegistrySource
from .errors import ImageNotFound, InvalidReference
from .http.transport import Transport
from .remote import RemoteRepository
from .store import LocalStore, normalize_ref_name


@dataclass(frozen=True)
class Location:
    kind: str  # "docker", "oci" or "docker-archive"
    path: str = ""
    name: str = ""  # tag (oci) or reference (docker-archive), may be empty
    reference: Reference | None = None


def parse_location(text: str) -> Location:
    if text.startswith("oci:"):
        path, _, tag = text[4:].partition(":")
        return Location("oci", path, tag)
    if text.startswith("docker-archive:"):
        path, _, ref = text[len("docker-archive:"):].partition(":")
        return Location("docker-archive", path, ref)
    if text.startswith("oci-archive:") or text.startswith("dir:"):
        raise InvalidReference(f"transport of {text!r} is not supported (use oci:, docker-archive: "
                               "or docker://)")
    try:
        return Location("docker", reference=Reference.parse(text.removeprefix("docker://")))
    except ValueError as err:
        raise InvalidReference(str(err)) from None


def _scratch(work_dir) -> tempfile.TemporaryDirectory:
    base = Path(work_dir) / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=base, prefix="copy-")


@contextlib.asynccontextmanager
async def open_source(text: str, transport: Transport, work_dir) -> AsyncIterator:
    location = parse_location(text)
    if location.kind == "docker":
        yield RegistrySource(RemoteRepository(transport, location.reference))
    elif location.kind == "oci":
        layout = OciLayout(location.path)
        if not layout.exists():
            raise ImageNotFound(f"{location.path} is not an OCI layout")
        yield LayoutSource(layout, location.name)
    else:
        from .docker_archive import load_docker_archive
        with _scratch(work_dir) as scratch:
            store = LocalStore(scratch)
            names = load_docker_archive(store, location.path)
            wanted = location.name or names[0]
            entry = store.find(wanted)
            yield LayoutSource(store.layout, entry.name, entry.descriptor)


class ArchiveDest(LayoutDest):
    """Collects the image in a scratch layout; `save` writes the tar at the end."""

    def __init__(self, scratch: Path, ref_name: str):
        self.store = LocalStore(scratch).init()
        super().__init__(self.store.layout, ref_name, sync=False)

    def save(self, output: str) -> None:
        from .docker_archive import save_docker_archive
        save_docker_archive(self.store, [self.ref_name], output)


@contextlib.asynccontextmanager
async def open_destination(text: str, transport: Transport, work_dir) -> AsyncIterator:
    location = parse_location(text)
    if location.kind == "docker-archive" and not location.name:
        raise InvalidReference("docker-archive destination needs a name: docker-archive:FILE:REF")
    if location.kind == "docker":
        yield RegistryDest(RemoteRepository(transport, location.reference))
    elif location.kind == "oci":
        Path(location.path).mkdir(parents=True, exist_ok=True)
        yield LayoutDest(OciLayout(location.path), location.name or "latest")
    else:
        with _scratch(work_dir) as scratch:
            dest = ArchiveDest(Path(scratch), normalize_ref_name(location.name))
            yield dest
            dest.save(location.path)

