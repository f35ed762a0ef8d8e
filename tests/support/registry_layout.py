"""Build a registry:2 storage tree directly, fast, for garbage-collection tests
and bench/gc.py: repositories of small images (a shared base layer, a layer
and a config of their own), some tagged, some untagged, and orphan blobs
(uploaded, linked into a repository, never referenced by a manifest).

    layout = make_layout(repositories=100, tagged=20, untagged=5, bases=50, orphans=2450)
    write_directory(layout, root)              # plain files, as Distribution lays them out
    write_bucket(layout, s3_client, bucket)    # the same objects in S3

The key paths are spelled out as Distribution's `paths.go` writes them, not
taken from pyreg. `layout.kept(delete_untagged)` is the set of blob digests a
correct collection keeps.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

V2 = "docker/registry/v2"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_key(digest: str) -> str:
    hex_ = digest.split(":", 1)[1]
    return f"{V2}/blobs/sha256/{hex_[:2]}/{hex_}/data"


def repo_key(repo: str, rest: str) -> str:
    return f"{V2}/repositories/{repo}/{rest}"


@dataclass
class Layout:
    files: dict[str, bytes] = field(default_factory=dict)
    tagged_blobs: set[str] = field(default_factory=set)     # reachable from tags
    untagged_blobs: set[str] = field(default_factory=set)   # reachable only from untagged manifests
    orphan_blobs: set[str] = field(default_factory=set)
    tags: dict[tuple[str, str], str] = field(default_factory=dict)  # (repo, tag) -> manifest digest
    untagged: list[tuple[str, str]] = field(default_factory=list)  # (repo, manifest digest)

    def kept(self, delete_untagged: bool) -> set[str]:
        return set(self.tagged_blobs) if delete_untagged else self.tagged_blobs | self.untagged_blobs

    def blob_count(self) -> int:
        return sum(1 for key in self.files if key.startswith(f"{V2}/blobs/"))

    def _blob(self, repo: str, data: bytes) -> str:
        digest = sha256(data)
        self.files[blob_key(digest)] = data
        self.files[repo_key(repo, f"_layers/sha256/{digest[7:]}/link")] = digest.encode()
        return digest

    def _image(self, repo: str, base: bytes, rng: random.Random) -> tuple[str, set[str]]:
        config = json.dumps({"os": "linux", "architecture": "amd64", "n": rng.random()}).encode()
        layer = rng.randbytes(rng.randrange(200, 2000))
        blobs = {self._blob(repo, config), self._blob(repo, base), self._blob(repo, layer)}
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": sha256(data), "size": len(data)} for data in (base, layer)],
        }).encode()
        digest = sha256(manifest)
        self.files[blob_key(digest)] = manifest
        self.files[repo_key(repo, f"_manifests/revisions/sha256/{digest[7:]}/link")] = digest.encode()
        return digest, blobs | {digest}

    def _tag(self, repo: str, tag: str, digest: str) -> None:
        self.files[repo_key(repo, f"_manifests/tags/{tag}/index/sha256/{digest[7:]}/link")] = digest.encode()
        self.files[repo_key(repo, f"_manifests/tags/{tag}/current/link")] = digest.encode()
        self.tags[(repo, tag)] = digest


def make_layout(repositories: int, tagged: int, untagged: int, bases: int, orphans: int,
                seed: int = 12) -> Layout:
    rng = random.Random(seed)
    layout = Layout()
    base_layers = [rng.randbytes(4096) for _ in range(bases)]
    names = [f"team{i % 10}/app{i}" for i in range(repositories)]
    for index, repo in enumerate(names):
        for number in range(tagged):
            digest, blobs = layout._image(repo, base_layers[(index + number) % bases], rng)
            layout._tag(repo, f"v{number}", digest)
            layout.tagged_blobs |= blobs
        for _ in range(untagged):
            digest, blobs = layout._image(repo, base_layers[rng.randrange(bases)], rng)
            layout.untagged.append((repo, digest))
            layout.untagged_blobs |= blobs
    layout.untagged_blobs -= layout.tagged_blobs
    for number in range(orphans):
        layout.orphan_blobs.add(layout._blob(names[number % len(names)], rng.randbytes(rng.randrange(100, 3000))))
    return layout


def write_directory(layout: Layout, root: Path) -> None:
    """Plain files (no fsync: a test or benchmark fixture, not a registry write)."""
    made: set[str] = set()
    for key, data in layout.files.items():
        path = os.path.join(root, key)
        directory = os.path.dirname(path)
        if directory not in made:
            os.makedirs(directory, exist_ok=True)
            made.add(directory)
        with open(path, "wb") as file:
            file.write(data)


def write_bucket(layout: Layout, client, bucket: str, prefix: str = "") -> None:
    """The same objects in a bucket, sixteen uploads at a time."""
    def put(item: tuple[str, bytes]) -> None:
        client.put_object(Bucket=bucket, Key=prefix + item[0], Body=item[1])
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(put, layout.files.items()))


def age_directory(root: Path, seconds: float) -> None:
    """Move every file's modification time `seconds` into the past."""
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            modified = os.stat(path).st_mtime - seconds
            os.utime(path, (modified, modified))
