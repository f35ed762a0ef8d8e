"""What the image verbs do, as async functions over typed values. The CLI
module parses arguments into these calls and prints their results."""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from ocispec.descriptor import Platform
from ocispec.reference import DOCKER_HUB, DOCKER_HUB_API, Reference

from .copy import CopyResult, copy_image
from .credentials import Credentials, store_credentials
from .endpoints import LayoutDest, LayoutSource, RegistryDest, RegistrySource
from .progress import Progress
from .remote import MAX_CONFIG_BYTES, RemoteRepository
from .store import LocalStore, host_platform_value, pick_platform
from .transport import RegistryError, Transport, raise_for_status


@dataclass(frozen=True)
class PullOptions:
    platform: Platform | None = None
    all_platforms: bool = False
    jobs: int = 6


def parse_reference(text: str) -> Reference:
    try:
        return Reference.parse(text)
    except ValueError as err:
        raise RegistryError(str(err)) from None


async def pull(store: LocalStore, text: str, transport: Transport, options: PullOptions,
               progress: Progress) -> CopyResult:
    reference = parse_reference(text)
    store.init()
    source = RegistrySource(RemoteRepository(transport, reference))
    dest = LayoutDest(store.layout, str(reference))
    platform = None if options.all_platforms else (options.platform or host_platform_value())
    with store.pinned():
        return await copy_image(source, dest, platform=platform, jobs=options.jobs, progress=progress)


async def push(store: LocalStore, text: str, dest_text: str | None, transport: Transport,
               jobs: int, progress: Progress) -> tuple[Reference, CopyResult]:
    entry = store.find(text)
    target = parse_reference(dest_text or entry.name)
    origin = None
    with contextlib.suppress(ValueError):
        origin = Reference.parse(entry.name)
    source = LayoutSource(store.layout, entry.name, entry.descriptor, origin)
    dest = RegistryDest(RemoteRepository(transport, target))
    return target, await copy_image(source, dest, platform=None, jobs=jobs, progress=progress)


async def inspect_remote(text: str, transport: Transport, platform: Platform | None) -> dict:
    reference = parse_reference(text)
    repo = RemoteRepository(transport, reference)
    manifest = await repo.get_manifest(reference.identifier, reference.digest)
    out = {"Name": str(reference), "Digest": str(manifest.digest), "MediaType": manifest.media_type,
           "Manifest": json.loads(manifest.raw)}
    if manifest.is_index:
        out["Platforms"] = [str(d.platform) for d in manifest.manifests if d.platform]
        if platform is None:
            return out
        child = pick_platform(manifest, platform)
        manifest = await repo.get_manifest(str(child.digest), child.digest)
        out["PlatformDigest"] = str(manifest.digest)
    if manifest.config is not None:
        if manifest.config.size > MAX_CONFIG_BYTES:
            raise RegistryError(f"config of {reference} is implausibly large ({manifest.config.size} bytes)")
        chunks = [c async for c in repo.blob_chunks(manifest.config)]
        out["Config"] = json.loads(b"".join(chunks))
    return out


async def list_tags(text: str, transport: Transport) -> list[str]:
    reference = parse_reference(text)
    return await RemoteRepository(transport, reference).list_tags()


async def delete_remote(text: str, transport: Transport) -> str:
    """Delete a manifest; a tag is first resolved to its digest (registries
    delete manifests by digest)."""
    reference = parse_reference(text)
    repo = RemoteRepository(transport, reference)
    digest = reference.digest or await repo.head_manifest(reference.tag)
    if digest is None:
        raise RegistryError(f"manifest unknown: {reference} not found")
    await repo.delete_manifest(str(digest))
    return f"{reference.name}@{digest}"


async def login(host: str, credentials: Credentials, transport: Transport) -> None:
    """Check the credentials against the registry, then store them."""
    api_host = DOCKER_HUB_API if host == DOCKER_HUB else host
    transport.host_auth(api_host).credentials = credentials
    response = await transport.request("GET", api_host, "/v2/")
    async with response:
        if response.status == 401:
            raise RegistryError(f"login to {host} failed: wrong username or password")
        await raise_for_status(response, f"login to {host}")
    store_credentials(host, credentials)


async def copy(source_text: str, dest_text: str, transport: Transport, platform: Platform | None,
               jobs: int, progress: Progress, work_dir) -> CopyResult:
    from .locations import open_destination, open_source
    async with open_source(source_text, transport, work_dir) as source:
        async with open_destination(dest_text, transport, work_dir) as dest:
            return await copy_image(source, dest, platform=platform, jobs=jobs, progress=progress)

