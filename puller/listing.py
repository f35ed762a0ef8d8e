"""What `pyreg images` and `pyreg inspect` show about the local store."""
from __future__ import annotations

import contextlib
import json

from ocispec.reference import Reference

from .errors import PullerError
from .store import LocalStore


def split_name(name: str) -> tuple[str, str]:
    """(repository as docker shows it, tag or <none>)."""
    try:
        reference = Reference.parse(name)
    except ValueError:
        return name, "<none>"
    repository = reference.name
    if reference.registry == "docker.io":
        repository = reference.repository.removeprefix("library/")
    return repository, reference.tag or "<none>"


def image_rows(store: LocalStore) -> list[tuple[str, str, str, str, int]]:
    """(repository, tag, image id, manifest digest, size) per named image."""
    rows = []
    for entry in store.images():
        repository, tag = split_name(entry.name)
        image_id, size = "", entry.descriptor.size
        with contextlib.suppress(PullerError):  # a broken image still gets its row
            descriptor, manifest, _ = store.resolve_image(entry.handle)
            image_id = manifest.config.digest.encoded[:12]
            size = sum(b.size for b in manifest.blob_references()) + descriptor.size
        rows.append((repository, tag, image_id, str(entry.descriptor.digest), size))
    return rows


def inspect_local(store: LocalStore, text: str) -> dict:
    entry = store.find(text)
    descriptor, manifest, config = store.resolve_image(entry.handle)
    return {"Name": entry.name, "Id": str(manifest.config.digest),
            "Digest": str(entry.descriptor.digest),
            "MediaType": entry.descriptor.media_type,
            "PlatformDigest": str(descriptor.digest),
            "Manifest": json.loads(manifest.raw),
            "Size": sum(b.size for b in manifest.layers),
            "Config": config}
