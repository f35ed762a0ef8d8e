"""Who started an upload session, when the registry has access control.

`_uploads/<id>/pyreg-owner` holds the name of the signed-in caller who
started the session, written before its id is handed out. Anyone else who
names that id gets BLOB_UPLOAD_UNKNOWN, the answer an id that does not
exist gets, so nobody learns that the session is there. A session started
without auth, or anonymously, has no owner file: it is anyone's who may
push to the repository, as before. Distribution's upload purge deletes a
session's directory whole, the owner file with it.

An owner never changes, so a known one is remembered per upload id: a
chunked push pays one storage read per session, not one per chunk.
"""
from __future__ import annotations

from collections import OrderedDict

from ocispec.errors import ErrorCode, OciError
from storage_backends.base import PathNotFound, StorageDriver

from .. import paths

REMEMBERED = 4096


class UploadOwners:
    def __init__(self, driver: StorageDriver):
        self.driver = driver
        self._known: OrderedDict[tuple[str, str], str] = OrderedDict()

    async def record(self, name: str, upload_id: str, subject: str | None) -> None:
        if subject is not None:
            await self.driver.put_content(paths.upload_owner(name, upload_id), subject.encode())
            self._remember(name, upload_id, subject)

    async def check(self, name: str, upload_id: str, subject: str | None) -> None:
        """Raises BLOB_UPLOAD_UNKNOWN unless `subject` may use the session."""
        owner = await self._owner(name, upload_id)
        if owner is not None and owner != subject:
            raise OciError(ErrorCode.BLOB_UPLOAD_UNKNOWN, detail={"uuid": upload_id})

    async def _owner(self, name: str, upload_id: str) -> str | None:
        known = self._known.get((name, upload_id))
        if known is not None:
            return known
        try:
            owner = (await self.driver.get_content(paths.upload_owner(name, upload_id))).decode(
                "utf-8", "replace")
        except PathNotFound:
            return None  # not remembered: a missing file may be a session not started yet
        self._remember(name, upload_id, owner)
        return owner

    def _remember(self, name: str, upload_id: str, owner: str) -> None:
        self._known[(name, upload_id)] = owner
        while len(self._known) > REMEMBERED:
            self._known.popitem(last=False)
