"""The local image store: an OCI image layout at `<root>/images`.

Standard library, ocispec and puller.errors only: the runtime imports this to
find an image's manifest, config and layers, and `pyreg run` must start fast.

index.json names every image by its full normalized reference
(`docker.io/library/busybox:latest`) in the `org.opencontainers.image.ref.name`
annotation, so `skopeo copy oci:<root>/images:<ref> ...` reads it directly.

Beside the layout, `<root>/build-cache/steps/` holds `pyreg build`'s layer
cache (builder/cache.py documents its records); garbage collection keeps
every layer those records name, reading them here, since the client cannot
import the builder.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import platform as host_platform
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ocispec.descriptor import Descriptor, Platform
from ocispec.digest import Digest
from ocispec.errors import OciError
from ocispec.layout import REF_NAME, OciLayout
from ocispec.manifest import Manifest, parse_manifest
from ocispec.reference import Reference

from .errors import CorruptImage, ImageNotFound, InvalidReference, NoMatchingPlatform

_MACHINE_TO_ARCH = {"x86_64": ("amd64", ""), "amd64": ("amd64", ""), "aarch64": ("arm64", "v8"),
                    "arm64": ("arm64", "v8"), "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"),
                    "i386": ("386", ""), "i686": ("386", ""), "ppc64le": ("ppc64le", ""),
                    "s390x": ("s390x", ""), "riscv64": ("riscv64", "")}


def build_cache_steps(root: str | Path) -> Path:
    """Where `pyreg build` keeps its step records: `<2 hex>/<64 hex>.json`."""
    return Path(root) / "build-cache" / "steps"


def build_cache_blobs(root: str | Path) -> set[Digest]:
    """The layer digests the build cache names (each record's
    `layer.digest`); a record that cannot be read names nothing."""
    found = set()
    for path in build_cache_steps(root).glob("*/*.json"):
        try:
            found.add(Digest.parse(json.loads(path.read_bytes())["layer"]["digest"]))
        except (OSError, ValueError, KeyError, TypeError, OciError):
            continue  # no layer (null), or not a record
    return found


def host_platform_value() -> Platform:
    arch, variant = _MACHINE_TO_ARCH.get(host_platform.machine().lower(),
                                         (host_platform.machine().lower(), ""))
    return Platform("linux", arch, variant)


def platform_matches(wanted: Platform, offered: Platform | None) -> bool:
    """Docker's rule: os and architecture must match; a variant only when asked for
    (arm64 images often omit the `v8` variant)."""
    if offered is None:
        return False
    if (offered.os, offered.architecture) != (wanted.os, wanted.architecture):
        return False
    if not wanted.variant or not offered.variant:
        return True
    return wanted.variant == offered.variant


def pick_platform(index: Manifest, wanted: Platform) -> Descriptor:
    """The index entry for `wanted`; raises NoMatchingPlatform listing what exists."""
    exact = [c for c in index.manifests if c.platform is not None and c.platform.os == wanted.os
             and c.platform.architecture == wanted.architecture and c.platform.variant == wanted.variant]
    if exact:
        return exact[0]
    for child in index.manifests:
        if platform_matches(wanted, child.platform):
            return child
    offered = ", ".join(str(c.platform) for c in index.manifests if c.platform) or "none"
    raise NoMatchingPlatform(f"no image for platform {wanted} (available: {offered})")


@dataclass(frozen=True)
class ImageEntry:
    """One image of the store, as `pyreg images` lists it: named, or kept
    without a name (`pyreg build` without -t, as docker's dangling images)."""
    name: str
    descriptor: Descriptor

    @property
    def handle(self) -> str:
        """What find() takes back to this very entry: its name, else its digest."""
        return self.name or str(self.descriptor.digest)


def normalize_ref_name(text: str) -> str:
    """The index.json name a user's reference stands for: `busybox` means
    `docker.io/library/busybox:latest`. Raises InvalidReference (a ValueError)."""
    try:
        return str(Reference.parse(text))
    except ValueError as err:
        raise InvalidReference(str(err)) from None


class LocalStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.layout = OciLayout(self.root / "images")

    def init(self) -> "LocalStore":
        self.layout.init()
        return self

    # reading

    def images(self) -> list[ImageEntry]:
        if not self.layout.exists():
            return []
        return [ImageEntry(d.annotations.get(REF_NAME, ""), d) for d in self.layout.index()]

    def find(self, text: str) -> ImageEntry:
        """The entry for a reference, a manifest digest or an image id prefix."""
        entries = self.images()
        for entry in entries:
            if entry.name == text:
                return entry
        with contextlib.suppress(ValueError):
            name = normalize_ref_name(text)
            for entry in entries:
                if entry.name == name:
                    return entry
        by_id = self._find_by_digest(entries, text)
        if by_id is not None:
            return by_id
        raise ImageNotFound(f"image {text!r} not found in the local store")

    def _find_by_digest(self, entries: list[ImageEntry], text: str) -> ImageEntry | None:
        hex_prefix = text.split(":", 1)[1] if text.startswith("sha256:") else text
        if len(hex_prefix) < 6 or any(c not in "0123456789abcdef" for c in hex_prefix):
            return None
        for entry in entries:
            if entry.descriptor.digest.encoded.startswith(hex_prefix):
                return entry
        for entry in entries:
            with contextlib.suppress(ImageNotFound, NoMatchingPlatform, CorruptImage, OSError):
                _, _, config_descriptor = self._image_manifest(entry.descriptor)
                if config_descriptor.digest.encoded.startswith(hex_prefix):
                    return entry
        return None

    def read_manifest(self, descriptor: Descriptor) -> Manifest:
        try:
            raw = self.layout.read_blob(descriptor.digest)
        except FileNotFoundError:
            raise ImageNotFound(f"manifest {descriptor.digest} is missing from the store") from None
        try:
            return parse_manifest(raw, descriptor.media_type, descriptor.digest)
        except OciError as err:
            raise CorruptImage(f"manifest {descriptor.digest} in the store: {err.message}") from None

    def _image_manifest(self, descriptor: Descriptor,
                        wanted: Platform | None = None) -> tuple[Descriptor, Manifest, Descriptor]:
        manifest = self.read_manifest(descriptor)
        if manifest.is_index:
            descriptor = pick_platform(manifest, wanted or host_platform_value())
            manifest = self.read_manifest(descriptor)
        if manifest.config is None:
            raise ImageNotFound(f"{descriptor.digest} is not an image manifest")
        return descriptor, manifest, manifest.config

    def resolve_image(self, text: str,
                      wanted: Platform | None = None) -> tuple[Descriptor, Manifest, dict]:
        """(image manifest descriptor, parsed manifest, config JSON) for a name,
        digest or id. An index resolves to the host's (or `wanted`) platform."""
        entry = self.find(text)
        descriptor, manifest, config_descriptor = self._image_manifest(entry.descriptor, wanted)
        try:
            config = json.loads(self.layout.read_blob(config_descriptor.digest))
        except FileNotFoundError:
            raise ImageNotFound(f"config {config_descriptor.digest} is missing from the store") from None
        except ValueError:
            raise CorruptImage(f"config {config_descriptor.digest} in the store is not JSON") from None
        return descriptor, manifest, config

    def layer_path(self, digest: Digest) -> Path:
        return self.layout.blob_path(digest)

    # locking against garbage collection

    @contextlib.contextmanager
    def pinned(self) -> Iterator[None]:
        """Held (shared) by writers between committing blobs and naming them,
        so that a concurrent `rmi` does not collect blobs not yet referenced."""
        with self._gc_lock(fcntl.LOCK_SH):
            yield

    @contextlib.contextmanager
    def _gc_lock(self, mode: int) -> Iterator[None]:
        self.layout.root.mkdir(parents=True, exist_ok=True)
        with open(self.layout.root / ".gc-lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), mode)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def tag(self, source_text: str, target_text: str) -> str:
        """Give the image `source_text` names another name; returns the new name."""
        entry = self.find(source_text)
        target = normalize_ref_name(target_text)
        self.layout.set_ref(target, entry.descriptor)
        return target

    # removing

    def remove(self, text: str) -> tuple[str, int]:
        """Untag an image and collect blobs nothing names any more.
        Returns (removed name, number of blobs deleted)."""
        entry = self.find(text)
        with self._gc_lock(fcntl.LOCK_EX), self.layout.locked():
            kept = [d for d in self.layout.index()
                    if d.annotations.get(REF_NAME) != entry.name or d.digest != entry.descriptor.digest]
            self.layout.write_index(kept)
            return entry.name, self._collect(kept)

    def _collect(self, roots: list[Descriptor]) -> int:
        reachable = self._reachable(roots) | build_cache_blobs(self.root)
        deleted = 0
        for digest in list(self.layout.blob_digests()):
            if digest not in reachable:
                with contextlib.suppress(FileNotFoundError):
                    self.layout.blob_path(digest).unlink()
                    deleted += 1
        return deleted

    def _reachable(self, roots: list[Descriptor]) -> set[Digest]:
        seen: set[Digest] = set()
        pending = list(roots)
        while pending:
            descriptor = pending.pop()
            if descriptor.digest in seen:
                continue
            seen.add(descriptor.digest)
            if descriptor.media_type.endswith("json") and self.layout.has_blob(descriptor.digest):
                with contextlib.suppress(CorruptImage):
                    manifest = self.read_manifest(descriptor)
                    pending.extend(manifest.manifests + manifest.blob_references())
                    if manifest.subject is not None:
                        pending.append(manifest.subject)
        return seen
