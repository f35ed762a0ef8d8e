"""Helpers to check that a driver reads and writes the exact registry:2 layout:
push or pull a tiny image through a real Distribution over plain HTTP, and
write the same image's keys through a driver.

The key paths are spelled out here on purpose: they are what Distribution's
`registry/storage/paths.go` produces, independent of pyreg's own keys module."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from storage_backends.base import StorageDriver
from tests.support.processes import free_port, require_binary, terminating, wait_for_http

V2 = "docker/registry/v2"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class TinyImage:
    config: bytes
    layer: bytes
    manifest: bytes

    @classmethod
    def make(cls, seed: str) -> "TinyImage":
        config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
        layer = (seed.encode() + b"\0") * 5000
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": sha256(layer), "size": len(layer)}],
        }).encode()
        return cls(config, layer, manifest)

    @property
    def blobs(self) -> list[bytes]:
        return [self.config, self.layer]


def blob_data_key(digest: str) -> str:
    encoded = digest.split(":", 1)[1]
    return f"{V2}/blobs/sha256/{encoded[:2]}/{encoded}/data"


def layer_link_key(repo: str, digest: str) -> str:
    return f"{V2}/repositories/{repo}/_layers/sha256/{digest.split(':', 1)[1]}/link"


def revision_link_key(repo: str, digest: str) -> str:
    return f"{V2}/repositories/{repo}/_manifests/revisions/sha256/{digest.split(':', 1)[1]}/link"


def tag_current_key(repo: str, tag: str) -> str:
    return f"{V2}/repositories/{repo}/_manifests/tags/{tag}/current/link"


def tag_index_key(repo: str, tag: str, digest: str) -> str:
    return f"{V2}/repositories/{repo}/_manifests/tags/{tag}/index/sha256/{digest.split(':', 1)[1]}/link"


async def write_image(driver: StorageDriver, repo: str, tag: str, image: TinyImage) -> None:
    """Lay the image out as Distribution would after a push."""
    for blob in image.blobs:
        await driver.put_content(blob_data_key(sha256(blob)), blob)
        await driver.put_content(layer_link_key(repo, sha256(blob)), sha256(blob).encode())
    digest = sha256(image.manifest)
    await driver.put_content(blob_data_key(digest), image.manifest)
    await driver.put_content(revision_link_key(repo, digest), digest.encode())
    await driver.put_content(tag_index_key(repo, tag, digest), digest.encode())
    await driver.put_content(tag_current_key(repo, tag), digest.encode())


def _request(method: str, url: str, data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    return urllib.request.urlopen(request, timeout=30)


def push_image(base_url: str, repo: str, tag: str, image: TinyImage) -> None:
    """Monolithic blob uploads (POST then PUT ?digest=) and a manifest PUT."""
    for blob in image.blobs:
        with _request("POST", f"{base_url}/v2/{repo}/blobs/uploads/", b"") as response:
            location = urllib.parse.urljoin(base_url, response.headers["Location"])
        separator = "&" if "?" in location else "?"
        with _request("PUT", f"{location}{separator}digest={sha256(blob)}", blob,
                      {"Content-Type": "application/octet-stream"}):
            pass
    with _request("PUT", f"{base_url}/v2/{repo}/manifests/{tag}", image.manifest,
                  {"Content-Type": OCI_MANIFEST}):
        pass


def pull_image(base_url: str, repo: str, tag: str) -> tuple[bytes, list[bytes]]:
    """The manifest by tag and every blob it names, as a client would get them."""
    with _request("GET", f"{base_url}/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST}) as response:
        manifest = response.read()
    parsed = json.loads(manifest)
    blobs = []
    for descriptor in [parsed["config"], *parsed["layers"]]:
        with _request("GET", f"{base_url}/v2/{repo}/blobs/{descriptor['digest']}") as response:
            blobs.append(response.read())
    return manifest, blobs


def _storage_yaml(storage: dict) -> str:
    lines = []
    for name, parameters in storage.items():
        lines.append(f"  {name}:")
        lines += [f"    {key}: {json.dumps(value)}" for key, value in parameters.items()]
    return "\n".join(lines)


@contextlib.contextmanager
def distribution_on(storage: dict, workdir: Path) -> Iterator[str]:
    """Distribution 2.8.2 over any storage section (e.g. s3 on moto); yields its URL."""
    binary = require_binary("docker-registry", "docker-registry")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / f"distribution-{port}.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                      f"storage:\n{_storage_yaml(storage)}\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")
    # aws-sdk-go in Distribution 2.8.2 panics on AWS_CA_BUNDLE with its own HTTP
    # transport; the bucket is plain HTTP on 127.0.0.1, so no CA is needed.
    environment = {name: value for name, value in os.environ.items() if name != "AWS_CA_BUNDLE"}
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=environment)
    with terminating(process):
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/v2/", process)
        yield url
