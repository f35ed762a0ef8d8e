"""One S3 object written as a multipart upload, for the S3 driver.

Memory stays at about one part whatever the blob size; a blob smaller than a
part becomes one PutObject, and the multipart upload starts only when a part
is full. Appends and large moves start from server-side copied parts.
"""
from __future__ import annotations

import contextlib

from .base import BlobWriter, StorageError
from .settings import MiB

MAX_PARTS = 10_000
MAX_COPY_PART = 5 * 1024 * MiB  # S3's limit for one CopyObject / UploadPartCopy


class UploadGone(StorageError):
    """NoSuchUpload: the multipart upload was completed or aborted already."""


def copy_ranges(size: int, limit: int) -> list[tuple[int, int]]:
    """Split [0, size) into equal inclusive byte ranges of at most `limit`.

    Equal pieces keep every part far above the 5 MiB minimum."""
    count = -(-size // limit)
    piece = -(-size // count)
    return [(start, min(size, start + piece) - 1) for start in range(0, size, piece)]


class S3Writer(BlobWriter):
    """Buffers one part; the multipart upload starts only when a part is full."""

    def __init__(self, driver, object_key: str):
        """`driver`: the S3Driver whose bucket, part sizes and `call` it uses."""
        self._driver = driver
        self.object_key = object_key
        self._upload_id: str | None = None
        self._parts: list[dict] = []
        self._buffer = bytearray()
        self._finished = False
        self.size = 0

    async def copy_parts_from(self, source_key: str, size: int) -> None:
        """Start with an existing object's bytes as server-side copied parts:
        the object itself when appending, another one when moving."""
        await self._start_upload()
        source = {"Bucket": self._driver.bucket, "Key": source_key}
        for first, last in copy_ranges(size, self._driver.copy_part_limit):
            number = len(self._parts) + 1
            response = await self._driver.call(
                "upload_part_copy", source_key, Key=self.object_key, UploadId=self._upload_id,
                PartNumber=number, CopySource=source, CopySourceRange=f"bytes={first}-{last}")
            self._parts.append({"PartNumber": number, "ETag": response["CopyPartResult"]["ETag"]})
        self.size += size

    def continue_from_bytes(self, existing: bytes) -> None:
        self._buffer += existing
        self.size = len(existing)

    async def _start_upload(self) -> None:
        if self._upload_id is None:
            response = await self._driver.call("create_multipart_upload", self.object_key,
                                               Key=self.object_key)
            self._upload_id = response["UploadId"]

    async def _upload_part(self, data: bytes) -> None:
        await self._start_upload()
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise StorageError(f"{self.object_key}: more than {MAX_PARTS} parts; raise part_size")
        response = await self._driver.call("upload_part", self.object_key, Key=self.object_key,
                                           UploadId=self._upload_id, PartNumber=number, Body=data)
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    async def write(self, chunk: bytes) -> None:
        if self._finished:
            raise StorageError("write after commit or cancel")
        self.size += len(chunk)
        part_size = self._driver.part_size
        view = memoryview(chunk)
        while view:  # a gigabyte chunk is cut into parts without copying it whole
            room = part_size - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) >= part_size:
                data, self._buffer = bytes(self._buffer), bytearray()
                await self._upload_part(data)

    async def commit(self) -> None:
        if self._finished:
            return
        self._finished = True
        data, self._buffer = bytes(self._buffer), bytearray()
        try:
            if self._upload_id is None:
                await self._driver.call("put_object", self.object_key, Key=self.object_key, Body=data)
                return
            if data:
                await self._upload_part(data)  # the last part may be small
            await self._driver.call("complete_multipart_upload", self.object_key, Key=self.object_key,
                                    UploadId=self._upload_id, MultipartUpload={"Parts": self._parts})
        except BaseException:
            # the error that stopped the commit is the one to report; an upload
            # left behind by a failed abort is removed by maintenance's purge
            with contextlib.suppress(StorageError):
                await self._abort()
            raise

    async def cancel(self) -> None:
        if not self._finished:
            self._finished = True
            self._buffer = bytearray()
            await self._abort()

    async def _abort(self) -> None:
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            with contextlib.suppress(UploadGone):  # gone already is what abort wants
                await self._driver.call("abort_multipart_upload", self.object_key,
                                        Key=self.object_key, UploadId=upload_id)
