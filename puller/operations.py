"""What the image verbs do, as functions over typed values: the client's
face to the command line, which parses arguments into these calls and
prints their results. Every failure below is a PullerError (local_failures
turns what a local file raises into one)."""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from ocispec.descriptor import Platform
from ocispec.reference import DOCKER_HUB, DOCKER_HUB_API, Reference

from .copy import CopyResult, copy_image
from .copy_ends import LayoutDest, LayoutSource, RegistryDest, RegistrySource
from .credentials import Credentials, erase_credentials, store_credentials
from .errors import InvalidReference, RegistryError, local_failures
from .http.transport import Transport, raise_for_status
from .progress import Progress
from .remote import RemoteRepository
from .store import LocalStore, host_platform_value, pick_platform

MAX_CONFIG_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class PullOptions:
    platform: Platform | None = None
    all_platforms: bool = False
    jobs: int = 6


def parse_reference(text: str) -> Reference:
    try:
        return Reference.parse(text)
    except ValueError as err:
        raise InvalidReference(str(err)) from None


# with a registry

async def pull(store: LocalStore, text: str, transport: Transport, options: PullOptions,
               progress: Progress) -> CopyResult:
    reference = parse_reference(text)
    with local_failures():
        store.init()
        source = RegistrySource(RemoteRepository(transport, reference))
        dest = LayoutDest(store.layout, str(reference))
        platform = None if options.all_platforms else (options.platform or host_platform_value())
        with store.pinned():
            return await copy_image(source, dest, platform=platform, jobs=options.jobs,
                                    progress=progress)


async def push(store: LocalStore, text: str, dest_text: str | None, transport: Transport,
               jobs: int, progress: Progress) -> tuple[Reference, CopyResult]:
    with local_failures():
        entry = store.find(text)
        target = parse_reference(dest_text or entry.name)
        origin = None
        with contextlib.suppress(ValueError):
            origin = Reference.parse(entry.name)
        source = LayoutSource(store.layout, entry.name, entry.descriptor, origin)
        dest = RegistryDest(RemoteRepository(transport, target))
        return target, await copy_image(source, dest, platform=None, jobs=jobs, progress=progress)


async def copy(source_text: str, dest_text: str, transport: Transport, platform: Platform | None,
               jobs: int, progress: Progress, work_dir) -> CopyResult:
    from .locations import open_destination, open_source
    with local_failures():
        async with open_source(source_text, transport, work_dir) as source:
            async with open_destination(dest_text, transport, work_dir) as dest:
                return await copy_image(source, dest, platform=platform, jobs=jobs,
                                        progress=progress)


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
        raw = await repo.read_blob(manifest.config, MAX_CONFIG_BYTES)
        try:
            out["Config"] = json.loads(raw)
        except ValueError:
            raise RegistryError(f"config of {reference} is not JSON") from None
    return out


async def list_tags(text: str, transport: Transport) -> list[str]:
    return await RemoteRepository(transport, parse_reference(text)).list_tags()


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


async def delete_tag(text: str, transport: Transport) -> str:
    """Remove one tag; the manifest, and any other tag of it, stay."""
    reference = parse_reference(text)
    if reference.digest is not None:
        raise InvalidReference(f"{text}: --untag needs REPO:TAG, not a digest")
    await RemoteRepository(transport, reference).delete_manifest(reference.tag)
    return f"{reference.name}:{reference.tag}"


async def delete_repository(text: str, transport: Transport) -> dict:
    """A whole repository, through pyreg's own endpoint (puller/registry_admin.py)."""
    from .registry_admin import delete_repository as delete_whole
    try:
        reference = Reference.parse(text, default_tag="")
    except ValueError as err:
        raise InvalidReference(str(err)) from None
    if reference.tag or reference.digest is not None:
        raise InvalidReference(f"{text}: --all takes a repository, without a tag or digest")
    return await delete_whole(transport, reference.api_host, reference.repository)


async def login(host: str, credentials: Credentials, transport: Transport) -> None:
    """Check the credentials against the registry, then store them."""
    api_host = DOCKER_HUB_API if host == DOCKER_HUB else host
    transport.auth.use_credentials(api_host, credentials)
    async with await transport.request("GET", api_host, "/v2/") as response:
        if response.status == 401:
            raise RegistryError(f"login to {host} failed: wrong username or password")
        await raise_for_status(response, f"login to {host}")
    with local_failures():
        store_credentials(host, credentials)


def logout(host: str) -> bool:
    with local_failures():
        return erase_credentials(host)


# with the local store

def tag(store: LocalStore, source_text: str, target_text: str) -> str:
    with local_failures():
        return store.tag(source_text, target_text)


def remove(store: LocalStore, text: str) -> tuple[str, int]:
    with local_failures():
        return store.remove(text)


def images(store: LocalStore) -> list[tuple[str, str, str, str, int]]:
    from .listing import image_rows
    with local_failures():
        return image_rows(store)


def inspect_local(store: LocalStore, text: str) -> dict:
    from .listing import inspect_local as inspect
    with local_failures():
        return inspect(store, text)


def save(store: LocalStore, texts: list[str], output: str) -> int:
    from .docker_archive import save_docker_archive
    with local_failures():
        return save_docker_archive(store, texts, output)


def load(store: LocalStore, path: str) -> list[str]:
    from .archive import load_any
    with local_failures():
        return load_any(store, path)
