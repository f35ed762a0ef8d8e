"""The images a build reads (FROM and `COPY --from=IMAGE`): from the local
store, or pulled into it as `pyreg pull` does, as --pull says:

- missing (the default): the stored image when it is there for the
  platform, else pulled;
- always: pulled first (a registry's newer image wins);
- never: the stored image, or an error.

An image is its manifest digest (what a stage's first cache key holds), its
whole config (history and all) and its layers with their diff_ids.
"""
from __future__ import annotations

from dataclasses import dataclass

from ocispec.descriptor import Platform
from ocispec.digest import Digest
from ocispec.errors import OciError
from puller.errors import NoMatchingPlatform, PullerError
from puller.store import LocalStore, platform_matches
from runtime.image.resolve import Layer

from .errors import BuildError
from .registries import Registries

PULL_POLICIES = ("missing", "always", "never")


@dataclass(frozen=True)
class BaseImage:
    reference: str           # as the store names it
    digest: Digest           # the platform's image manifest
    config: dict             # the image config, whole
    layers: tuple[Layer, ...]


class ImageSource:
    """Resolves each (reference, platform) once per build."""

    def __init__(self, store: LocalStore, registries: Registries, pull: str):
        self.store, self.registries, self.pull = store, registries, pull
        self._found: dict[tuple[str, Platform], BaseImage] = {}

    def image(self, text: str, platform: Platform) -> BaseImage:
        known = self._found.get((text, platform))
        if known is None:
            known = self._found[(text, platform)] = self._resolve(text, platform)
        return known

    def _resolve(self, text: str, platform: Platform) -> BaseImage:
        if self.pull == "always":
            self.registries.pull(text, platform)
            return self._stored(text, platform)
        try:
            return self._stored(text, platform)
        except PullerError as err:
            if self.pull == "never":
                raise BuildError(f"{text}: {err}, and --pull=never forbids pulling it") from None
        self.registries.pull(text, platform)
        return self._stored(text, platform)

    def _stored(self, text: str, platform: Platform) -> BaseImage:
        entry = self.store.find(text)
        descriptor, manifest, config = self.store.resolve_image(text, platform)
        offered = Platform.from_json(config)
        if not platform_matches(platform, offered):
            raise NoMatchingPlatform(f"the stored {entry.name or text} is for {offered}, not {platform}")
        return BaseImage(entry.name or text, descriptor.digest, config, _layers(text, manifest, config))


def _layers(text: str, manifest, config: dict) -> tuple[Layer, ...]:
    try:
        diff_ids = [Digest.parse(d) for d in (config.get("rootfs") or {}).get("diff_ids") or []]
    except (OciError, TypeError, AttributeError):
        raise BuildError(f"image {text}: its config has invalid diff_ids") from None
    if len(diff_ids) != len(manifest.layers):
        raise BuildError(f"image {text}: {len(manifest.layers)} layers but {len(diff_ids)} diff_ids")
    return tuple(Layer(descriptor, diff_id) for descriptor, diff_id in zip(manifest.layers, diff_ids))
