"""Keys as objects in an S3 bucket, via boto3 in threads.

Object names follow Distribution's s3-aws driver (`s3Path`): the root
directory without its surrounding '/', then '/', then the key. So a bucket
written by registry:2 with `rootdirectory: /r` holds
`r/docker/registry/v2/...`, and pyreg reads and writes the same objects.

Writers are multipart uploads of `part_size` parts: memory stays at about
one part whatever the blob size. A small blob becomes one PutObject. An
append to an object of 5 MiB or more starts the new upload with a
server-side UploadPartCopy of the existing object, so it is never downloaded;
a smaller one (below S3's part minimum) is read back, which is cheap.
"""
from __future__ import annotations

import asyncio
import functools
from typing import AsyncIterator, Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .base import BlobWriter, FileInfo, PathNotFound, StorageDriver, StorageError, check_key, check_prefix
from .s3_writer import MAX_COPY_PART, S3Writer, UploadGone
from .settings import S3_MIN_PART_SIZE as MIN_PART_SIZE
from .settings import MiB

DELETE_BATCH = 1000
REDIRECT_SECONDS = 20 * 60
_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
# A conditional PutObject that lost: 412 when the key exists, 409 while
# another conditional write of the key is in flight (AWS), either way taken.
_LOST_CONDITION_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


class _ConditionFailed(Exception):
    pass


class S3Driver(StorageDriver):
    name = "s3"
    directory_walks_are_slow = True

    def __init__(self, bucket: str, region: str = "us-east-1", endpoint_url: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None,
                 root_directory: str = "", redirect: bool = False, part_size: int = 10 * MiB,
                 force_path_style: bool | None = None, copy_part_limit: int = MAX_COPY_PART,
                 session_token: str | None = None, verify: bool = True):
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"s3 part size must be at least {MIN_PART_SIZE} bytes, got {part_size}")
        if not 2 * MIN_PART_SIZE <= copy_part_limit <= MAX_COPY_PART:
            raise ValueError(f"s3 copy part limit out of range: {copy_part_limit}")
        self.bucket, self.part_size, self.copy_part_limit = bucket, part_size, copy_part_limit
        self._root = root_directory.strip("/")
        self._redirect = redirect
        self.list_page_size = 1000  # S3's maximum; tests lower it to exercise paging
        self._partless_seen: set[str] = set()  # upload ids the last purge pass saw with no part
        path_style = endpoint_url is not None if force_path_style is None else force_path_style
        config = Config(region_name=region, signature_version="s3v4", max_pool_connections=32,
                        s3={"addressing_style": "path" if path_style else "auto"},
                        retries={"max_attempts": 3, "mode": "standard"},
                        # no per-part CRC work on our CPU; S3-compatible stores vary in support
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required")
        self._client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key, aws_session_token=session_token, verify=verify,
            config=config)

    # -- names ---------------------------------------------------------------
    def object_key(self, key: str) -> str:
        """The bucket object holding a key, named as Distribution names it."""
        check_key(key)
        return f"{self._root}/{key}" if self._root else key

    def _directory_prefix(self, prefix: str) -> str:
        whole = self.object_key(prefix) if check_prefix(prefix) else self._root
        return whole + "/" if whole else ""

    # -- calling boto3 ---------------------------------------------------------
    def _call_sync(self, operation: str, key: str, **params):
        try:
            return getattr(self._client, operation)(Bucket=self.bucket, **params)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _NOT_FOUND_CODES:
                raise PathNotFound(key) from None
            if code in _LOST_CONDITION_CODES and "IfNoneMatch" in params:
                raise _ConditionFailed(key) from None
            if code == "NoSuchUpload":
                raise UploadGone(f"s3 {operation} {key}: {code}") from None
            raise StorageError(f"s3 {operation} {key}: {code}: {error}") from None
        except BotoCoreError as error:
            raise StorageError(f"s3 {operation} {key}: {error}") from None

    async def call(self, operation: str, key: str, **params):
        """One S3 call in a thread; not-found becomes PathNotFound, the rest StorageError."""
        return await asyncio.to_thread(functools.partial(self._call_sync, operation, key, **params))

    async def _size(self, key: str) -> int:
        response = await self.call("head_object", key, Key=self.object_key(key))
        return response["ContentLength"]

    # -- the interface -----------------------------------------------------------
    async def get_content(self, key: str) -> bytes:
        def fetch() -> bytes:
            body = self._call_sync("get_object", key, Key=self.object_key(key))["Body"]
            with body:
                return body.read()
        return await asyncio.to_thread(fetch)

    async def put_content(self, key: str, data: bytes) -> None:
        await self.call("put_object", key, Key=self.object_key(key), Body=bytes(data))

    async def create_exclusive(self, key: str, data: bytes) -> bool:
        """PutObject with `If-None-Match: *`: S3 (since 2024), MinIO, Ceph
        RGW and moto refuse it when the key exists, so the bucket decides."""
        try:
            await self.call("put_object", key, Key=self.object_key(key), Body=bytes(data),
                            IfNoneMatch="*")
        except _ConditionFailed:
            return False
        return True

    async def list_after(self, prefix: str, after: str = "", count: int = 1000) -> list[str]:
        """One ListObjectsV2 from StartAfter: S3 lists keys sorted, so the
        page comes straight from the bucket however large the directory.
        (A child directory `after` itself sorts after StartAfter = `after`,
        so one more is asked for and it is dropped.)"""
        listed = self._directory_prefix(prefix)
        start = prefix + "/" if prefix else ""
        params = {"Prefix": listed, "Delimiter": "/", "MaxKeys": min(count + 1, self.list_page_size)}
        if after:
            params["StartAfter"] = listed + after
        found: list[str] = []
        while len(found) < count:
            page = await self.call("list_objects_v2", prefix or "/", **params)
            names = [entry["Key"][len(listed):] for entry in page.get("Contents", [])]
            names += [entry["Prefix"][len(listed):].rstrip("/") for entry in page.get("CommonPrefixes", [])]
            found += sorted(start + name for name in names if name and name > after)
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                break
            params["ContinuationToken"] = token
        return found[:count]

    async def read_stream(self, key: str, offset: int = 0, length: int | None = None,
                          chunk_size: int = MiB) -> AsyncIterator[bytes]:
        object_key = self.object_key(key)
        size = await self._size(key)  # also answers PathNotFound and out-of-range offsets
        end = size if length is None else min(size, offset + length)
        if offset >= end:
            return
        response = await self.call("get_object", key, Key=object_key, Range=f"bytes={offset}-{end - 1}")
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, chunk_size):
                yield chunk
        finally:
            body.close()

    async def writer(self, key: str, append: bool = False) -> BlobWriter:
        writer = S3Writer(self, self.object_key(key))
        if append:
            try:
                existing_size = await self._size(key)
            except PathNotFound:
                return writer
            if existing_size >= MIN_PART_SIZE:
                await writer.copy_parts_from(writer.object_key, existing_size)
            else:
                writer.continue_from_bytes(await self.get_content(key))
        return writer

    async def stat(self, key: str) -> FileInfo:
        if check_prefix(key):
            try:
                head = await self.call("head_object", key, Key=self.object_key(key))
                return FileInfo(key, head["ContentLength"], False, head["LastModified"].timestamp())
            except PathNotFound:
                pass
        listing = await self.call("list_objects_v2", key, Prefix=self._directory_prefix(key), MaxKeys=1)
        if listing.get("KeyCount", 0) == 0:
            raise PathNotFound(key)
        return FileInfo(key, 0, True, 0)

    async def list(self, prefix: str) -> list[str]:
        children = await asyncio.to_thread(self._list_sync, prefix)
        if not children and prefix:
            raise PathNotFound(prefix)
        return children

    def _list_sync(self, prefix: str) -> list[str]:
        listed = self._directory_prefix(prefix)
        start = prefix + "/" if prefix else ""
        names: set[str] = set()
        for page in self._pages(prefix, Prefix=listed, Delimiter="/"):
            names.update(entry["Prefix"][len(listed):].rstrip("/") for entry in page.get("CommonPrefixes", []))
            names.update(entry["Key"][len(listed):] for entry in page.get("Contents", []))
        names.discard("")  # a 'directory marker' object or a '//' in a foreign bucket
        return sorted(start + name for name in names)

    def _pages(self, key: str, **params):
        """ListObjectsV2 pages, following continuation tokens."""
        token = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self._call_sync("list_objects_v2", key, MaxKeys=self.list_page_size, **params, **extra)
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    async def move(self, source: str, dest: str) -> None:
        source_key, dest_key = self.object_key(source), self.object_key(dest)
        size = await self._size(source)
        copy_source = {"Bucket": self.bucket, "Key": source_key}
        if size <= self.copy_part_limit:
            await self.call("copy_object", source, Key=dest_key, CopySource=copy_source)
        else:
            await self._multipart_copy(dest_key, source_key, size)
        await self.call("delete_object", source, Key=source_key)

    async def _multipart_copy(self, dest_key: str, source_key: str, size: int) -> None:
        """CopyObject stops at 5 GiB; beyond, copy ranges as parts of a new upload."""
        writer = S3Writer(self, dest_key)
        try:
            await writer.copy_parts_from(source_key, size)
        except BaseException:
            await writer.cancel()
            raise
        await writer.commit()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete_sync, key)

    def _delete_sync(self, key: str) -> None:
        object_key = self.object_key(key)
        doomed = [entry["Key"] for page in self._pages(key, Prefix=object_key + "/")
                  for entry in page.get("Contents", [])]
        try:
            self._call_sync("head_object", key, Key=object_key)
            doomed.append(object_key)
        except PathNotFound:
            if not doomed:
                raise
        for start in range(0, len(doomed), DELETE_BATCH):
            batch = [{"Key": name} for name in doomed[start:start + DELETE_BATCH]]
            response = self._call_sync("delete_objects", key, Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):
                first = response["Errors"][0]
                raise StorageError(f"s3 delete {first.get('Key')}: {first.get('Code')}: {first.get('Message')}")

    async def remove_abandoned_writes(self, before: float, dry_run: bool = False) -> list[str]:
        """Multipart uploads under the root directory started before `before`
        and never completed or aborted: a writer killed mid-blob leaves one,
        and S3 bills its parts until someone aborts it."""
        return await asyncio.to_thread(self._abort_old_uploads_sync, before, dry_run)

    def _abort_old_uploads_sync(self, before: float, dry_run: bool) -> list[str]:
        aborted, partless = [], set()
        for upload in self._multipart_uploads():
            if upload["Initiated"].timestamp() >= before:
                continue
            state = self._parts_state(upload, before)
            if state == "partless":
                # perhaps a writer between starting and its first part: gone by
                # the next pass if it was one, so only a later pass aborts it
                partless.add(upload["UploadId"])
                if upload["UploadId"] not in self._partless_seen:
                    continue
            elif state != "old":
                continue
            if not dry_run:
                try:
                    self._call_sync("abort_multipart_upload", upload["Key"], Key=upload["Key"],
                                    UploadId=upload["UploadId"])
                except StorageError:
                    continue  # completed or aborted meanwhile (NoSuchUpload)
            aborted.append(upload["Key"][len(self._root) + 1:] if self._root else upload["Key"])
        self._partless_seen = partless  # ids no longer listed can never matter again
        return aborted

    def _parts_state(self, upload: dict, before: float) -> str:
        """'old' when every part was written before `before`, 'recent' when
        one was not, 'partless', or 'gone' (completed or aborted meanwhile).
        Initiated alone would do on S3, but moto answers one fixed 2010 time
        for every upload, and a writer in flight must never lose its upload."""
        markers: dict[str, int] = {}
        seen_part = False
        while True:
            try:
                page = self._call_sync("list_parts", upload["Key"], Key=upload["Key"],
                                       UploadId=upload["UploadId"], **markers)
            except StorageError:
                return "gone"
            parts = page.get("Parts", [])
            if any(part["LastModified"].timestamp() >= before for part in parts):
                return "recent"
            seen_part = seen_part or bool(parts)
            if not page.get("IsTruncated"):
                return "old" if seen_part else "partless"
            markers = {"PartNumberMarker": page["NextPartNumberMarker"]}

    def _multipart_uploads(self) -> Iterator[dict]:
        prefix = self._directory_prefix("")
        markers: dict[str, str] = {}
        while True:
            page = self._call_sync("list_multipart_uploads", prefix or "/", Prefix=prefix, **markers)
            yield from page.get("Uploads", [])
            if not page.get("IsTruncated"):
                return
            markers = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}

    async def redirect_url(self, key: str, method: str = "GET") -> str | None:
        if not self._redirect or method not in ("GET", "HEAD"):
            return None
        operation = "get_object" if method == "GET" else "head_object"
        return self._client.generate_presigned_url(  # signing is local: no network, no thread
            operation, Params={"Bucket": self.bucket, "Key": self.object_key(key)},
            ExpiresIn=REDIRECT_SECONDS)

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)
