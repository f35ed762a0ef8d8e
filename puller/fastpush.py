"""Pushing over the fast path (fastsend): blob existence checks, a blob
uploaded from a local file as one POST and one monolithic PUT, and manifest
PUTs. Each function returns None (or False) when the fast path could not
finish the job; the caller then does it through the general path, which
answers auth challenges, follows redirects and reports the registry's
error message. Nothing here is ever half done in a way the general path
could trip over: an abandoned upload session is simply never committed."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

from ocispec.descriptor import Descriptor
from ocispec.digest import Digest
from ocispec.manifest import Manifest

from . import fastget, fastsend
from .fastget import Answer
from .remote import RemoteRepository


async def _send(repo: RemoteRepository, method: str, path_or_url: str,
                headers: dict[str, str] | None = None, **body) -> Answer | None:
    if not fastget.ENABLED:
        return None
    base = await repo.transport.base_url(repo.host)
    url = urljoin(base + "/", path_or_url)
    if urlsplit(url).netloc != repo.host:
        return None  # elsewhere: the general path decides what credentials go there
    headers = dict(headers or {})
    authorization = await repo.transport.auth_header(repo.host, repo.push_scopes)
    if authorization:
        headers["Authorization"] = authorization
    return await fastsend.send(method, url, headers, repo.transport.ssl_for(repo.host), **body)


async def blob_exists(repo: RemoteRepository, digest: Digest) -> bool | None:
    """True or False as the registry says; None when it said something else."""
    answer = await _send(repo, "HEAD", f"/v2/{repo.name}/blobs/{digest}")
    if answer is None or answer.status not in (200, 404):
        return None
    return answer.status == 200


async def upload_file(repo: RemoteRepository, descriptor: Descriptor, path: Path,
                      advance) -> bool:
    """Upload a blob from a file (the registry verifies its digest on commit)."""
    started = await _send(repo, "POST", f"/v2/{repo.name}/blobs/uploads/")
    location = started.headers.get("location") if started is not None else None
    if started is None or started.status != 202 or not location:
        return False
    query = urlencode({"digest": str(descriptor.digest)})
    committed = await _send(repo, "PUT", location + ("&" if "?" in location else "?") + query,
                            {"Content-Type": "application/octet-stream"},
                            file=fastsend.FileBody(path, descriptor.size), advance=advance)
    return committed is not None and committed.status == 201


async def put_manifest(repo: RemoteRepository, manifest: Manifest, identifier: str) -> bool:
    answer = await _send(repo, "PUT", f"/v2/{repo.name}/manifests/{identifier}",
                         {"Content-Type": manifest.media_type}, data=manifest.raw)
    return answer is not None and answer.status == 201
