"""Chunks of one upload session serialised through the store itself, so
replicas on one bucket (or workers on one disk) need no lock service.

Whoever appends at offset N first creates `_uploads/<id>/pyreg-claims/<N>`
with the store's exclusive create (S3 `If-None-Match: *`, link(2) on a
disk). Exactly one request ever wins an offset; every other one racing for
it gets 416 and the session's real state. So the bytes below any size are
written by one writer only, which is also why the running-hash cache keyed
by (upload, offset) stays true across replicas. A writer that fails before
its commit gives its claim back; one killed outright leaves its offset
taken, and the client starts the blob again (it does after any 416).
Finishing claims the final size the same way, so no chunk can land between
the digest check and the move into the blob store.

On S3 an append replaces the object at commit, so a size seen is always a
committed one. A file grows in place while it is written, so there a size is
trusted only once `pyreg-ends/<size>` says a chunk finished there (or the
session holds no claims at all: bytes written before pyreg claimed chunks).
"""
from __future__ import annotations

from ocispec.errors import ErrorCode, OciError
from storage_backends.base import PathNotFound, StorageDriver

from .. import paths


def chunk_out_of_range(message: str) -> OciError:
    """A chunk that does not continue the upload: 416, as the spec requires.
    The spec's table names no code for it; BLOB_UPLOAD_INVALID is nearest."""
    return OciError(ErrorCode.BLOB_UPLOAD_INVALID, message, status=416)


class UploadClaims:
    def __init__(self, driver: StorageDriver):
        self.driver = driver

    async def take(self, name: str, upload_id: str, offset: int) -> None:
        """Claim the chunk at `offset`; raises the 416 when another has it."""
        if self.driver.appends_in_place and not await self._settled(name, upload_id, offset):
            raise chunk_out_of_range(f"a chunk is still being written at {offset}")
        # empty: the object's own time says when; usage and GC count no bytes for it
        if not await self.driver.create_exclusive(paths.upload_claim(name, upload_id, offset), b""):
            raise chunk_out_of_range(f"another request took the chunk at {offset}")

    async def give_back(self, name: str, upload_id: str, offset: int) -> None:
        """Release a claim whose writer committed nothing."""
        try:
            await self.driver.delete(paths.upload_claim(name, upload_id, offset))
        except PathNotFound:
            pass

    async def ended(self, name: str, upload_id: str, size: int) -> None:
        """Record that a committed chunk ends at `size` (files only)."""
        if self.driver.appends_in_place:
            await self.driver.put_content(paths.upload_end(name, upload_id, size), b"")

    async def _settled(self, name: str, upload_id: str, size: int) -> bool:
        if size == 0 or await self.driver.exists(paths.upload_end(name, upload_id, size)):
            return True
        return not await self.driver.list_after(paths.upload_claims_dir(name, upload_id), "", 1)
