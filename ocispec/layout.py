"""An OCI image layout directory (image-spec image-layout.md): `oci-layout`,
`index.json` and `blobs/<alg>/<hex>`.

The client's local image store is one of these, so skopeo (`oci:DIR:REF`),
umoci and podman read what pyreg pulled. Every write is atomic (temp file +
rename) and index.json changes happen under an flock, so concurrent pyreg
processes never corrupt the layout.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from . import mediatypes as mt
from .descriptor import Descriptor
from .digest import Digest, verify_bytes

REF_NAME = "org.opencontainers.image.ref.name"
_WRITE_BUFFER = 1 << 20  # what a new blob's writes gather before they reach the file


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class NewBlob:
    """The temp file of OciLayout.new_blob: write to `file`, then `commit`
    under the digest of what was written (verified by the writer)."""

    def __init__(self, layout: "OciLayout", path: Path, file):
        self.layout, self.path, self.file = layout, path, file

    def commit(self, digest: Digest) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        if not self.layout.has_blob(digest):
            self.layout.commit_blob(self.path, digest)


class OciLayout:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @property
    def index_path(self) -> Path:
        return self.root / "index.json"

    @property
    def ingest_dir(self) -> Path:
        """Where partial downloads wait; beside blobs/, never inside it."""
        return self.root / "ingest"

    def init(self) -> "OciLayout":
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        self.ingest_dir.mkdir(exist_ok=True)
        marker = self.root / "oci-layout"
        if not marker.exists():
            write_atomic(marker, json.dumps({"imageLayoutVersion": mt.OCI_LAYOUT_VERSION}).encode())
        if not self.index_path.exists():
            with self.locked():
                if not self.index_path.exists():
                    self.write_index([])
        return self

    def exists(self) -> bool:
        return (self.root / "oci-layout").is_file()

    # blobs

    def blob_path(self, digest: Digest) -> Path:
        return self.root / "blobs" / digest.algorithm / digest.encoded

    def has_blob(self, digest: Digest) -> bool:
        return self.blob_path(digest).is_file()

    def read_blob(self, digest: Digest) -> bytes:
        return self.blob_path(digest).read_bytes()

    def commit_blob(self, temp_path: str | os.PathLike, digest: Digest) -> Path:
        """Move an already verified temp file into place (same filesystem)."""
        target = self.blob_path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp_path, target)
        return target

    @contextlib.contextmanager
    def new_blob(self, prefix: str) -> Iterator["NewBlob"]:
        """A blob being written into a temp file in ingest/: it enters blobs/
        only by `commit` (fsync'd, then renamed), and the temp file is gone
        after the block whatever happened, so a crash leaves at most a temp
        file in ingest/, never a half blob."""
        self.ingest_dir.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.ingest_dir, prefix=prefix)
        try:
            with os.fdopen(fd, "wb", buffering=_WRITE_BUFFER) as handle:
                yield NewBlob(self, Path(temp), handle)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)

    def write_blob(self, data: bytes, expected: Digest | None = None) -> Digest:
        """Store bytes held in memory under their digest, which must be
        `expected` when one is given (else OciError, and nothing is written)."""
        digest = Digest.of_bytes(data) if expected is None else verify_bytes(data, expected)
        target = self.blob_path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, data)
        return digest

    def blob_digests(self) -> Iterator[Digest]:
        blobs = self.root / "blobs"
        if not blobs.is_dir():
            return
        for algorithm_dir in blobs.iterdir():
            for entry in algorithm_dir.iterdir():
                if entry.is_file() and Digest.is_valid(f"{algorithm_dir.name}:{entry.name}"):
                    yield Digest(algorithm_dir.name, entry.name)

    # index.json

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive lock over index.json changes and garbage collection."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def index(self) -> list[Descriptor]:
        try:
            data = json.loads(self.index_path.read_bytes())
        except FileNotFoundError:
            return []
        return [Descriptor.from_json(item) for item in data.get("manifests") or []]

    def write_index(self, manifests: list[Descriptor]) -> None:
        """Replace index.json's entries; the caller holds `locked()`."""
        body = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
                "manifests": [d.to_json() for d in manifests]}
        write_atomic(self.index_path, json.dumps(body, indent=2).encode())

    def resolve(self, ref_name: str) -> Descriptor | None:
        for descriptor in self.index():
            if descriptor.annotations.get(REF_NAME) == ref_name:
                return descriptor
        return None

    def set_ref(self, ref_name: str, descriptor: Descriptor) -> None:
        """Point ref_name at descriptor, replacing what it named before."""
        annotations = dict(descriptor.annotations, **{REF_NAME: ref_name})
        named = Descriptor(descriptor.media_type, descriptor.digest, descriptor.size,
                           annotations, descriptor.platform, descriptor.artifact_type)
        with self.locked():
            kept = [d for d in self.index() if d.annotations.get(REF_NAME) != ref_name]
            self.write_index(kept + [named])
