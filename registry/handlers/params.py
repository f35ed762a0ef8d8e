"""Parsing what a request carries into typed values, once, at the edge.

Names and digests are validated here, before anything touches storage.
"""
from __future__ import annotations

import re
from typing import AsyncIterator

from aiohttp import web

from ocispec.digest import Digest
from ocispec.errors import ErrorCode, OciError
from ocispec.reference import is_valid_tag, validate_name

from ..config import RegistryConfig
from ..keys import CONFIG, STORE, URLS
from ..store import RegistryStore, check_upload_id, chunk_out_of_range

_CONTENT_RANGE_RE = re.compile(r"^(?:bytes[ =])?(\d{1,19})-(\d{1,19})(?:/(?:\d{1,19}|\*))?$", re.ASCII)


async def body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """The request body in the pieces it arrived in: no piece is joined or
    copied on the way (each copy of an upload's bytes costs CPU). A piece is
    at most one socket read, so memory stays flat."""
    content = request.content
    while True:
        data, _ = await content.readchunk()
        if data:
            yield data
        elif content.at_eof():  # not iter_chunks(): aiohttp's shared empty body ends it only once
            return


def store_of(request: web.Request) -> RegistryStore:
    return request.app[STORE]


def config_of(request: web.Request) -> RegistryConfig:
    return request.app[CONFIG]


def repo_name(request: web.Request) -> str:
    return validate_name(request.match_info["name"])


def path_digest(request: web.Request, key: str = "digest") -> Digest:
    return Digest.parse(request.match_info[key])


def query_digest(request: web.Request, key: str) -> Digest:
    text = request.query.get(key)
    if text is None:
        raise OciError(ErrorCode.DIGEST_INVALID, f"the {key} query parameter is required")
    return Digest.parse(text)


def upload_id(request: web.Request) -> str:
    return check_upload_id(request.match_info["upload_id"])


def reference(request: web.Request, unknown: ErrorCode) -> Digest | str:
    """A manifest reference: a Digest when it has a ':', else a tag.

    A malformed tag answers `unknown` (MANIFEST_UNKNOWN for reads,
    MANIFEST_INVALID for writes): no such tag can exist."""
    text = request.match_info["reference"]
    if ":" in text:
        return Digest.parse(text)
    if not is_valid_tag(text):
        raise OciError(unknown, "invalid tag", {"tag": text[:200]})
    return text


def content_range(request: web.Request) -> tuple[int, int] | None:
    """The PATCH `Content-Range: <start>-<end>` (inclusive), checked against
    Content-Length; None when absent."""
    header = request.headers.get("Content-Range")
    if header is None:
        return None
    match = _CONTENT_RANGE_RE.match(header.strip())
    if not match or int(match[2]) < int(match[1]):
        raise chunk_out_of_range(f"malformed Content-Range {header[:80]!r}")
    start, end = int(match[1]), int(match[2])
    length = request.content_length
    if length is not None and length != end - start + 1:
        raise chunk_out_of_range("Content-Range does not match Content-Length")
    return start, end


def page(request: web.Request, limit: int, default: int | None) -> tuple[int | None, str]:
    """The `n` and `last` pagination parameters; n must be 0..limit."""
    last = request.query.get("last", "")
    text = request.query.get("n")
    if text is None or text == "":
        return default, last
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) > limit:
        # The spec's table has no code for this; Distribution's
        # PAGINATION_NUMBER_INVALID is outside it, so: unsupported page size.
        raise OciError(ErrorCode.UNSUPPORTED, f"n must be an integer from 0 to {limit}",
                       {"n": text[:40]}, status=400)
    return int(text), last


def url_for(request: web.Request, path: str) -> str:
    """A `Location` or `Link` URL for an API path ("/v2/..."), as configured."""
    return request.app[URLS].url(request, path)


def blob_location(request: web.Request, name: str, digest: Digest) -> str:
    return url_for(request, f"/v2/{name}/blobs/{digest}")


def upload_location(request: web.Request, name: str, upload: str) -> str:
    return url_for(request, f"/v2/{name}/blobs/uploads/{upload}")


def manifest_location(request: web.Request, name: str, digest: Digest) -> str:
    return url_for(request, f"/v2/{name}/manifests/{digest}")
