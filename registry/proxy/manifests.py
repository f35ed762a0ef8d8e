"""Manifests through the cache: fetched from the upstream into the local
store, then served by the registry's own handler from there.

By digest, a manifest is immutable: once stored it is never asked for
again. By tag, the local tag is trusted for the upstream's `ttl` after this
process last confirmed it; then a HEAD asks where the tag points now, a GET
follows only when it moved. The confirmations are kept in memory, not
written: a write (fsync'd) on every confirmed tag made a pull with ttl=0
wait 30-60 ms more per tag. Each worker and replica confirms for itself,
so none serves a tag staler than the ttl; a restart confirms again. When
the upstream cannot answer, a cached tag is served as it is, stale, with a
log line.
"""
from __future__ import annotations

import logging
import time

from ocispec.digest import Digest
from ocispec.errors import ErrorCode, OciError
from ocispec.manifest import MAX_MANIFEST_BYTES, Manifest, parse_manifest
from .. import paths
from ..store import RegistryStore
from .errors import UpstreamError, UpstreamLied
from .upstream import MANIFEST_ACCEPT, UpstreamClient

log = logging.getLogger("pyreg.registry.proxy")
MAX_CONFIRMED = 100_000


class ManifestCache:
    def __init__(self, store: RegistryStore):
        self.store = store
        # (name, tag) -> (digest, time.monotonic() of the upstream's confirmation)
        self.confirmed: dict[tuple[str, str], tuple[Digest, float]] = {}

    async def ensure_digest(self, client: UpstreamClient, name: str, digest: Digest) -> None:
        """Make the manifest `digest` visible in `name`, or raise OciError."""
        if await self.store.manifests.is_linked(name, digest):
            return
        try:
            manifest = await self._fetch(client, name, str(digest), digest)
        except UpstreamError as error:
            raise error.to_oci(ErrorCode.MANIFEST_UNKNOWN, {"digest": str(digest)}) from None
        await self._keep(name, manifest, None)

    async def ensure_tag(self, client: UpstreamClient, name: str, tag: str) -> None:
        """Bring the tag up to date with the upstream when its ttl ran out;
        keep serving the cached one if the upstream cannot say."""
        local = await self.store.tags.resolve(name, tag)
        if local is not None and self._confirmed_within(name, tag, local, client.upstream.ttl):
            return
        try:
            remote = await self._head(client, name, tag)
            if remote is not None and remote == local:
                self._confirm(name, tag, local)
                return
            manifest = await self._fetch(client, name, tag, None)
        except UpstreamError as error:
            if local is None:
                raise error.to_oci(ErrorCode.MANIFEST_UNKNOWN, {"tag": tag}) from None
            log.warning("proxy: serving %s:%s from the cache, unconfirmed: %s", name, tag, error.reason)
            return
        await self._keep(name, manifest, tag)

    def _confirmed_within(self, name: str, tag: str, local: Digest, ttl: float) -> bool:
        """Confirmed that recently, as pointing where it still points here
        (another replica may have moved it since)."""
        digest, at = self.confirmed.get((name, tag), (None, 0.0))
        return digest == local and time.monotonic() - at < ttl

    def _confirm(self, name: str, tag: str, digest: Digest) -> None:
        if len(self.confirmed) >= MAX_CONFIRMED:
            self.confirmed.clear()  # asked again once: cheaper than any bookkeeping
        self.confirmed[(name, tag)] = (digest, time.monotonic())

    async def _head(self, client: UpstreamClient, name: str, tag: str) -> Digest | None:
        """Where the tag points upstream, if a HEAD says (not every registry does)."""
        async with client.open("HEAD", name, f"manifests/{tag}", {"Accept": MANIFEST_ACCEPT}) as response:
            text = response.headers.get("Docker-Content-Digest")
        return Digest.parse(text) if text and Digest.is_valid(text) else None

    async def _fetch(self, client: UpstreamClient, name: str, reference: str,
                     expected: Digest | None) -> Manifest:
        async with client.open("GET", name, f"manifests/{reference}", {"Accept": MANIFEST_ACCEPT}) as response:
            raw = await response.content.read(MAX_MANIFEST_BYTES + 1)
            content_type = response.headers.get("Content-Type")
            announced = response.headers.get("Docker-Content-Digest")
        if len(raw) > MAX_MANIFEST_BYTES:
            raise UpstreamLied(f"the manifest {name}:{reference} upstream exceeds 4 MiB")
        if expected is None and announced and Digest.is_valid(announced):
            expected = Digest.parse(announced)
        digest = Digest.of_bytes(raw, expected.algorithm if expected else "sha256")
        if expected is not None and digest != expected:
            log.error("proxy: upstream sent manifest %s for %s:%s, not %s; not cached",
                      digest, name, reference, expected)
            raise UpstreamLied(f"the upstream's manifest does not match {expected}")
        try:
            return parse_manifest(raw, content_type, digest)
        except (OciError, TypeError, ValueError, AttributeError, RecursionError):
            log.error("proxy: upstream sent an invalid manifest for %s:%s; not cached", name, reference)
            raise UpstreamLied("the upstream's manifest is invalid") from None

    async def _keep(self, name: str, manifest: Manifest, tag: str | None) -> None:
        """Stored like a push, but without its blobs: they come on demand."""
        await self.store.blobs.put_small(manifest.digest, manifest.raw)
        await self.store.referrers.add(name, manifest)
        await self.store.links.write(paths.revision_link(name, manifest.digest), manifest.digest)
        if tag is not None:
            await self.store.tags.point(name, tag, manifest.digest)
            self._confirm(name, tag, manifest.digest)
