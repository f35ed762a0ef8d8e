"""Hostile rows about what a request carries: upload sessions fed lies
(digests, Content-Range, unknown or foreign session ids), manifests that are
not what they claim, pagination parameters out of range.

Expected codes follow the distribution spec: a digest mismatch is
DIGEST_INVALID (400); an out-of-order chunk 416; an unknown session
BLOB_UPLOAD_UNKNOWN (404); an invalid manifest MANIFEST_INVALID (400), one
naming blobs the repository lacks MANIFEST_BLOB_UNKNOWN (400); a manifest
over the registry's limit 413.
"""
from __future__ import annotations

import json

from tests.hostile.state import OCI_INDEX, OCI_MANIFEST, OTHER_REPO, UPLOAD_PREFIX, sha256
from tests.hostile.table import ANY_CODE, NO_BODY, Row, codes

DIGEST_INVALID = {400: codes("DIGEST_INVALID")}
# Bytes after the declared body on a `Connection: close` request: aiohttp's
# parser may refuse the message (400, plain text) or the handler sees a
# prefix that does not match its digest. Either way nothing may be stored.
FRAMING_OR_DIGEST = {400: NO_BODY}
OUT_OF_ORDER = {416: ANY_CODE}
BAD_RANGE = {400: ANY_CODE, 416: ANY_CODE}
UPLOAD_UNKNOWN = {404: codes("BLOB_UPLOAD_UNKNOWN")}
UPLOAD_UNKNOWN_OR_NO_ROUTE = {404: NO_BODY, 400: ANY_CODE}
MANIFEST_INVALID = {400: codes("MANIFEST_INVALID")}
BLOB_UNKNOWN = {400: codes("MANIFEST_BLOB_UNKNOWN")}
PAGE_INVALID = {400: ANY_CODE}
UNKNOWN_UUID = "/v2/{repo}/blobs/uploads/00000000-0000-4000-8000-000000000000"
OTHER_BYTES = b"not what the digest says"
CHUNK = b"abcdefghij"


def _append(target: str, content_range: str, body: bytes = CHUNK, **extra) -> Row:
    return Row(f"patch-range-{content_range}", "PATCH", target, extra.pop("expect", OUT_OF_ORDER),
               {"Content-Type": "application/octet-stream", "Content-Range": content_range},
               body, upload=True, **extra)


def _manifest(row_id: str, body, expect=MANIFEST_INVALID, content_type: str = OCI_MANIFEST,
              target: str = "/v2/{repo}/manifests/hostile", **extra) -> Row:
    return Row(row_id, "PUT", target, expect, {"Content-Type": content_type}, body, **extra)


UPLOAD_ROWS = [
    Row("monolithic-digest-mismatch", "POST", f"/v2/{{repo}}/blobs/uploads/?digest={sha256(OTHER_BYTES)}",
        DIGEST_INVALID, body=b"hello"),
    Row("monolithic-digest-short", "POST", "/v2/{repo}/blobs/uploads/?digest=sha256:short",
        DIGEST_INVALID, body=b"hello"),
    Row("monolithic-digest-md5", "POST",
        "/v2/{repo}/blobs/uploads/?digest=md5:5d41402abc4b2a76b9719d911017c592",
        {400: codes("DIGEST_INVALID", "UNSUPPORTED")}, body=b"hello"),
    Row("monolithic-digest-traversal", "POST", "/v2/{repo}/blobs/uploads/?digest=sha256:..%2F..%2Fx",
        DIGEST_INVALID, body=b"hello"),
    Row("monolithic-body-longer-than-length", "POST",
        f"/v2/{{repo}}/blobs/uploads/?digest={sha256(CHUNK * 2)}", FRAMING_OR_DIGEST,
        body=CHUNK * 2, content_length=10),
    # A mount the registry cannot perform SHOULD fall back to a new session (202).
    Row("mount-digest-traversal", "POST", "/v2/{repo}/blobs/uploads/?mount=sha256:..%2F..&from=hostile/other",
        {**DIGEST_INVALID, 202: NO_BODY}, opens_session=True),
    Row("mount-from-traversal", "POST", "/v2/{repo}/blobs/uploads/?mount={foreign}&from=..%2F..%2Fetc",
        {400: codes("NAME_INVALID"), 202: NO_BODY}, opens_session=True),
    Row("finish-digest-mismatch", "PUT", f"{{upload}}?digest={sha256(OTHER_BYTES)}", DIGEST_INVALID,
        upload=True),
    Row("finish-digest-mismatch-with-body", "PUT", f"{{upload}}?digest={sha256(OTHER_BYTES)}",
        DIGEST_INVALID, {"Content-Type": "application/octet-stream"}, CHUNK, upload=True,
        touches_upload=True),
    Row("finish-digest-short", "PUT", "{upload}?digest=sha256:short", DIGEST_INVALID, upload=True),
    Row("finish-without-digest", "PUT", "{upload}", DIGEST_INVALID, upload=True),
    _append("{upload}", "garbage", expect=BAD_RANGE),
    _append("{upload}", "5-14"),                       # overlaps the 10 bytes already there
    _append("{upload}", "20-29"),                      # leaves a gap
    _append("{upload}", "0-9"),                        # rewrites what is there
    _append("{upload}", "10-9", expect=BAD_RANGE),     # ends before it starts
    _append("{upload}", "10-19", body=b"12345", expect=BAD_RANGE),  # range and length disagree
    _append("{upload}", "10-99999999999999999999", expect=BAD_RANGE),
    Row("patch-unknown-uuid", "PATCH", UNKNOWN_UUID, UPLOAD_UNKNOWN, body=CHUNK),
    Row("put-unknown-uuid", "PUT", f"{UNKNOWN_UUID}?digest={sha256(CHUNK)}", UPLOAD_UNKNOWN, body=CHUNK),
    Row("patch-uuid-traversal-encoded", "PATCH", "/v2/{repo}/blobs/uploads/..%2F..%2F_layers",
        {**UPLOAD_UNKNOWN, **UPLOAD_UNKNOWN_OR_NO_ROUTE}, body=CHUNK),
    Row("put-uuid-traversal-encoded", "PUT",
        f"/v2/{{repo}}/blobs/uploads/..%2F..%2F..%2F..%2Fblobs?digest={sha256(CHUNK)}",
        {**UPLOAD_UNKNOWN, **UPLOAD_UNKNOWN_OR_NO_ROUTE}, body=CHUNK),
    Row("get-uuid-dotdot", "GET", "/v2/{repo}/blobs/uploads/%2e%2e", {**UPLOAD_UNKNOWN, 404: NO_BODY}),
    Row("finish-session-of-another-repository", "PUT",
        f"/v2/{OTHER_REPO}/blobs/uploads/{{upload_id}}?digest={sha256(UPLOAD_PREFIX)}",
        UPLOAD_UNKNOWN, upload=True),
    Row("patch-session-of-another-repository", "PATCH", f"/v2/{OTHER_REPO}/blobs/uploads/{{upload_id}}",
        UPLOAD_UNKNOWN, {"Content-Range": "10-19"}, CHUNK, upload=True),
    Row("cancel-session-of-another-repository", "DELETE",
        f"/v2/{OTHER_REPO}/blobs/uploads/{{upload_id}}", UPLOAD_UNKNOWN, upload=True),
    Row("status-of-unknown-uuid", "GET", UNKNOWN_UUID, UPLOAD_UNKNOWN),
    # The blob exists, but only in OTHER_REPO: a mount claiming it lives in
    # REPO must not link it; the spec lets the server open a session instead.
    Row("mount-from-repository-without-the-blob", "POST",
        "/v2/{repo}/blobs/uploads/?mount={foreign}&from={repo}",
        {202: NO_BODY, 404: ANY_CODE}, opens_session=True),
    # Without `from`, a blob another repository holds is mounted (automatic
    # content discovery, tests/registry/test_api_uploads.py); one that no
    # repository holds is not, and the client gets a session.
    Row("mount-without-from-of-unknown-blob", "POST",
        f"/v2/{{repo}}/blobs/uploads/?mount={sha256(OTHER_BYTES)}",
        {202: NO_BODY, 404: ANY_CODE}, opens_session=True),
    Row("patch-chunked-garbage", "PATCH", "{upload}", {400: NO_BODY},
        {"Transfer-Encoding": "chunked"}, b"zz\r\nabc\r\n0\r\n\r\n", upload=True, touches_upload=True),
    Row("patch-length-and-chunked", "PATCH", "{upload}", {400: NO_BODY},
        {"Transfer-Encoding": "chunked", "Content-Length": "5"}, b"5\r\nabcde\r\n0\r\n\r\n",
        upload=True),
]


def _nested(opening: str, depth: int = 100_000) -> bytes:
    return (opening * depth).encode()


MANIFEST_ROWS = [
    _manifest("manifest-not-json", b"{this is not json"),
    _manifest("manifest-json-array", b"[]"),
    _manifest("manifest-not-utf8", b'{"schemaVersion": 2, "x": "\xff\xfe"}'),
    _manifest("manifest-schema-version-1", lambda s: s.manifest_with(schemaVersion=1)),
    _manifest("manifest-schema-version-string", lambda s: s.manifest_with(schemaVersion="2")),
    _manifest("manifest-media-type-mismatch", lambda s: s.manifest, content_type=OCI_INDEX),
    _manifest("manifest-missing-layer", lambda s: s.manifest_with(layers=[s.descriptor(b"missing")]),
              BLOB_UNKNOWN),
    _manifest("manifest-foreign-layer", lambda s: s.manifest_with(layers=[s.descriptor(s.foreign)]),
              BLOB_UNKNOWN),
    _manifest("manifest-layer-digest-traversal", lambda s: s.manifest_with(
        layers=[{"mediaType": OCI_MANIFEST, "digest": "sha256:../../../etc", "size": 1}])),
    _manifest("manifest-negative-size", lambda s: s.manifest_with(
        layers=[{**s.descriptor(s.layer), "size": -1}])),
    _manifest("index-missing-child", lambda s: json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX,
         "manifests": [s.descriptor(b"no such manifest", OCI_MANIFEST)]}).encode(),
        {**BLOB_UNKNOWN, 404: codes("MANIFEST_UNKNOWN")}, content_type=OCI_INDEX),
    _manifest("manifest-layers-not-a-list", lambda s: s.manifest_with(layers={"a": 1})),
    _manifest("manifest-config-missing", lambda s: s.manifest_with(config=None)),
    _manifest("manifest-size-boolean", lambda s: s.manifest_with(
        layers=[{**s.descriptor(s.layer), "size": True}])),
    _manifest("manifest-size-infinite", lambda s: s.manifest_with(
        layers=[{**s.descriptor(s.layer), "size": 0}]).replace(b'"size": 0', b'"size": 1e400')),
    _manifest("manifest-size-float", lambda s: s.manifest_with(
        layers=[{**s.descriptor(s.layer), "size": 3000.5}])),
    _manifest("manifest-digest-md5", lambda s: s.manifest_with(
        layers=[{**s.descriptor(s.layer), "digest": "md5:5d41402abc4b2a76b9719d911017c592"}]),
        {**MANIFEST_INVALID, **BLOB_UNKNOWN, 400: codes("MANIFEST_INVALID", "MANIFEST_BLOB_UNKNOWN",
                                                       "DIGEST_INVALID")}),
    _manifest("manifest-subject-traversal", lambda s: s.manifest_with(
        subject={"mediaType": OCI_MANIFEST, "digest": "sha256:../../x", "size": 1})),
    _manifest("manifest-media-type-not-a-string", lambda s: s.manifest_with(mediaType=["x"])),
    _manifest("manifest-over-4MiB", lambda s: s.manifest_with(annotations={"x": "y" * (5 << 20)}),
              {413: ANY_CODE, **MANIFEST_INVALID}),
    _manifest("manifest-absurd-length", b"", {413: ANY_CODE, **MANIFEST_INVALID},
              content_length=1 << 40),
    _manifest("manifest-nested-arrays", _nested("[")),
    _manifest("manifest-nested-objects", _nested('{"a":')),
    _manifest("manifest-digest-mismatch", lambda s: s.manifest, DIGEST_INVALID,
              target=f"/v2/{{repo}}/manifests/{sha256(OTHER_BYTES)}"),
    _manifest("manifest-tag-dotdot", lambda s: s.manifest,
              {400: codes("MANIFEST_INVALID")}, target="/v2/{repo}/manifests/%2e%2e"),
    _manifest("manifest-tag-129-chars", lambda s: s.manifest,
              {400: codes("MANIFEST_INVALID")}, target=f"/v2/{{repo}}/manifests/{'t' * 129}"),
    _manifest("manifest-body-longer-than-length", lambda s: s.manifest,
              {400: NO_BODY}, content_length=40),
    _manifest("manifest-truncated", lambda s: s.manifest[:40], {}, hang_up=True,
              content_length=1000),
]

PAGE_ROWS = [
    Row("tags-n-negative", "GET", "/v2/{repo}/tags/list?n=-1", PAGE_INVALID),
    Row("tags-n-not-a-number", "GET", "/v2/{repo}/tags/list?n=abc", PAGE_INVALID),
    Row("tags-n-float", "GET", "/v2/{repo}/tags/list?n=1e3", PAGE_INVALID),
    # A server may also clamp n; either way it must not try to build 10^8 entries.
    Row("tags-n-huge", "GET", "/v2/{repo}/tags/list?n=100000000", {**PAGE_INVALID, 200: NO_BODY}),
    Row("tags-last-4KiB", "GET", f"/v2/{{repo}}/tags/list?last={'z' * 4000}",
        {**PAGE_INVALID, 200: NO_BODY}),
    Row("tags-last-100KiB", "GET", f"/v2/{{repo}}/tags/list?last={'z' * 100_000}",
        {**PAGE_INVALID, 400: NO_BODY, 414: NO_BODY}),
    Row("referrers-digest-short", "GET", "/v2/{repo}/referrers/sha256:short",
        {400: codes("DIGEST_INVALID"), 404: ANY_CODE}),
    Row("referrers-digest-traversal", "GET", "/v2/{repo}/referrers/sha256:..%2F..%2F_layers",
        {400: codes("DIGEST_INVALID"), 404: ANY_CODE}),
    Row("catalog-n-negative", "GET", "/v2/_catalog?n=-1", PAGE_INVALID),
    Row("catalog-n-huge", "GET", "/v2/_catalog?n=99999999999999999999999", {**PAGE_INVALID, 200: NO_BODY}),
]

ROWS = UPLOAD_ROWS + MANIFEST_ROWS + PAGE_ROWS
