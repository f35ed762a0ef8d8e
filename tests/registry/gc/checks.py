"""What "nothing lost, nothing corrupt" means after a collection, checked two
ways: pulled through the registry's API, and read straight from storage."""
from __future__ import annotations

import hashlib
import json

from storage_backends.base import StorageDriver
from storage_backends.bulk import read_many, walk_files
from tests.support.registry_layout import V2, blob_key

ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json"])


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def named_blobs(manifest: dict) -> list[str]:
    return [d["digest"] for d in [manifest.get("config"), *manifest.get("layers", [])] if d]


async def pull(client, name: str, reference: str) -> bytes:
    """GET a manifest and everything it names (an index's children too),
    each checked against its digest; returns the manifest's bytes."""
    response = await client.get(f"/v2/{name}/manifests/{reference}", headers={"Accept": ACCEPT})
    assert response.status == 200, f"{name}:{reference}: {response.status} {await response.text()}"
    raw = await response.read()
    assert sha256(raw) == response.headers["Docker-Content-Digest"]
    manifest = json.loads(raw)
    for digest in named_blobs(manifest):
        blob = await client.get(f"/v2/{name}/blobs/{digest}")
        assert blob.status == 200, f"{name}@{digest}: {blob.status}"
        assert sha256(await blob.read()) == digest
    for child in manifest.get("manifests", []):
        await pull(client, name, child["digest"])
    return raw


async def assert_consistent(driver: StorageDriver) -> None:
    """Straight from storage: every tag names a linked manifest; every linked
    manifest is stored and every blob it names is linked in its repository
    and stored with bytes matching the digest; no layer link dangles."""
    keys = [info.key for info in await walk_files(driver, f"{V2}/repositories")]
    stored = {info.key for info in await walk_files(driver, f"{V2}/blobs")}
    links = {key for key in keys if key.endswith("/link")}
    contents = await read_many(driver, [k for k in links if "/current/" in k])
    problems = []
    for key, raw in contents.items():
        repo = key.split("/repositories/", 1)[1].split("/_manifests/", 1)[0]
        if _revision(repo, raw.decode()) not in links:
            problems.append(f"tag {key} names {raw.decode()} without a revision link")
    revisions = [key for key in links if "/_manifests/revisions/" in key]
    manifests = await read_many(driver, [blob_key(_digest_in(key)) for key in revisions])
    for key in revisions:
        repo = key.split("/repositories/", 1)[1].split("/_manifests/", 1)[0]
        raw = manifests[blob_key(_digest_in(key))]
        if raw is None:
            problems.append(f"{key}: manifest bytes missing")
            continue
        for digest in named_blobs(json.loads(raw)):
            if f"{V2}/repositories/{repo}/_layers/sha256/{digest[7:]}/link" not in links:
                problems.append(f"{repo}: {digest} named by {_digest_in(key)} is not linked")
    for key in (k for k in links if "/_layers/" in k):
        if blob_key(_digest_in(key)) not in stored:
            problems.append(f"{key} names missing bytes")
    blobs = await read_many(driver, stored)
    problems += [f"{key} does not match its digest" for key, data in blobs.items()
                 if f"/{hashlib.sha256(data).hexdigest()}/data" not in key]
    assert not problems, problems[:20]


def _digest_in(link_key: str) -> str:
    parts = link_key.split("/")
    return f"{parts[-3]}:{parts[-2]}"


def _revision(repo: str, digest: str) -> str:
    return f"{V2}/repositories/{repo}/_manifests/revisions/sha256/{digest.split(':', 1)[1]}/link"
