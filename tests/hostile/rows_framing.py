"""Hostile rows about HTTP framing: Content-Length lies, bodies cut short
by a closed connection, oversized header lines, nonsense Range headers.

A truncated upload is sent with `hang_up=True`: the client closes the
connection mid-body, reads no answer, and the row then proves that no blob,
link or temp file was left behind (the test's snapshot check).
"""
from __future__ import annotations

from tests.hostile.state import sha256
from tests.hostile.table import ANY_CODE, NO_BODY, Row, codes, parser_reject

PART = b"x" * 100
FULL = b"x" * 1000
TOO_LONG_FOR_PARSER = parser_reject(400, 413, 414, 431)
# RFC 9110 14.2: a server may ignore a Range it cannot parse and send 200.
RANGE_IGNORED_OR_REFUSED = {200: NO_BODY, 416: NO_BODY}
RANGE_UNSATISFIABLE = {416: NO_BODY, 200: NO_BODY}

LENGTH_ROWS = [
    Row("content-length-overflow", "PATCH", "{upload}", parser_reject(400, 413),
        body=b"abc", content_length="99999999999999999999999999", upload=True),
    Row("content-length-negative", "POST", f"/v2/{{repo}}/blobs/uploads/?digest={sha256(b'abc')}",
        parser_reject(), body=b"abc", content_length="-3"),
    Row("content-length-not-a-number", "POST", "/v2/{repo}/blobs/uploads/", parser_reject(),
        body=b"abc", content_length="3abc"),
    Row("content-length-duplicated", "POST", f"/v2/{{repo}}/blobs/uploads/?digest={sha256(b'abc')}",
        parser_reject(), {"Content-length": "2"}, b"abc"),
    Row("content-length-1TiB-monolithic", "POST", f"/v2/{{repo}}/blobs/uploads/?digest={sha256(FULL)}",
        {}, body=PART, content_length=1 << 40, hang_up=True),
]

TRUNCATED_ROWS = [
    Row("truncated-monolithic-upload", "POST", f"/v2/{{repo}}/blobs/uploads/?digest={sha256(FULL)}",
        {}, body=PART, content_length=len(FULL), hang_up=True),
    Row("truncated-finishing-put", "PUT", f"{{upload}}?digest={sha256(b'0123456789' + FULL)}",
        {}, body=PART, content_length=len(FULL), upload=True, hang_up=True, touches_upload=True),
    Row("truncated-patch", "PATCH", "{upload}", {}, {"Content-Range": "10-1009"}, PART,
        content_length=len(FULL), upload=True, hang_up=True, touches_upload=True),
    Row("truncated-chunked-patch", "PATCH", "{upload}", {}, {"Transfer-Encoding": "chunked"},
        b"3e8\r\n" + PART, upload=True, hang_up=True, touches_upload=True),
]

def _chunked(data: bytes, size: int = 1 << 16) -> bytes:
    pieces = [data[i:i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


CHUNKED_ROWS = [
    # No Content-Length to refuse early: the limit must hold while reading.
    Row("manifest-over-4MiB-chunked", "PUT", "/v2/{repo}/manifests/big",
        {413: ANY_CODE, 400: codes("MANIFEST_INVALID", "SIZE_INVALID")},
        {"Content-Type": "application/vnd.oci.image.manifest.v1+json", "Transfer-Encoding": "chunked"},
        lambda s: _chunked(s.manifest_with(annotations={"x": "y" * (5 << 20)}))),
    Row("monolithic-chunked-digest-mismatch", "POST", f"/v2/{{repo}}/blobs/uploads/?digest={sha256(FULL)}",
        {400: codes("DIGEST_INVALID")}, {"Transfer-Encoding": "chunked"}, _chunked(PART * 3)),
]

HEAD_ROWS = [
    Row("head-manifest-upper-case-name", "HEAD", "/v2/UP/manifests/t", {400: NO_BODY}),
    Row("head-blob-digest-traversal", "HEAD", "/v2/{repo}/blobs/sha256:..%2F..%2Fdata",
        {400: NO_BODY, 404: NO_BODY}),
    Row("head-manifest-of-name-300-chars", "HEAD", f"/v2/{'/'.join(['abcdefghi'] * 30)}/manifests/t",
        {400: NO_BODY}),
]

HEADER_ROWS = [
    Row("header-line-70KiB", "GET", "/v2/", TOO_LONG_FOR_PARSER, {"X-Junk": "a" * 70_000}),
    Row("header-line-70KiB-on-upload", "POST", f"/v2/{{repo}}/blobs/uploads/?digest={sha256(b'abc')}",
        TOO_LONG_FOR_PARSER, {"X-Junk": "a" * 70_000}, b"abc"),
    Row("request-target-70KiB", "GET", "/v2/" + "a/" * 35_000 + "tags/list", TOO_LONG_FOR_PARSER),
    Row("header-count-10000", "GET", "/v2/", TOO_LONG_FOR_PARSER,
        {f"X-H{i}": "v" for i in range(10_000)}),
    Row("header-value-nul", "GET", "/v2/{repo}/manifests/{tag}", parser_reject(),
        {"Accept": "application/json\x00evil"}),
]

RANGE_ROWS = [
    Row("range-garbage", "GET", "/v2/{repo}/blobs/{layer}", RANGE_IGNORED_OR_REFUSED,
        {"Range": "bytes=garbage"}),
    Row("range-beyond-end", "GET", "/v2/{repo}/blobs/{layer}", RANGE_UNSATISFIABLE,
        {"Range": "bytes=999999-"}),
    Row("range-suffix-zero", "GET", "/v2/{repo}/blobs/{layer}", RANGE_UNSATISFIABLE,
        {"Range": "bytes=-0"}),
    Row("range-huge-numbers", "GET", "/v2/{repo}/blobs/{layer}", RANGE_UNSATISFIABLE,
        {"Range": "bytes=99999999999999999999999-99999999999999999999999"}),
    Row("range-many", "GET", "/v2/{repo}/blobs/{layer}", {**RANGE_IGNORED_OR_REFUSED, 206: NO_BODY},
        {"Range": "bytes=" + ",".join(f"{i}-{i}" for i in range(700))}),
]

ROWS = LENGTH_ROWS + TRUNCATED_ROWS + CHUNKED_ROWS + HEAD_ROWS + HEADER_ROWS + RANGE_ROWS
