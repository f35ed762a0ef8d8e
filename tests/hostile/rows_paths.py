"""Hostile rows about what a URL names: repository names that try to climb
out of the storage root, malformed and foreign digests, unknown methods.

Expected codes follow the distribution spec (spec.md, "Error Codes"): a bad
name is NAME_INVALID (400), a bad digest DIGEST_INVALID (400); a read of
something that cannot exist may instead answer the 404 of its kind.
"""
from __future__ import annotations

from tests.hostile.state import OTHER_REPO
from tests.hostile.table import ANY_CODE, NO_BODY, Row, codes

NAME_INVALID = {400: codes("NAME_INVALID")}
NAME_INVALID_OR_NO_ROUTE = {400: codes("NAME_INVALID"), 404: NO_BODY}
NAME_INVALID_OR_UNKNOWN = {400: codes("NAME_INVALID"),
                           404: codes("NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN")}
BAD_BLOB_DIGEST = {400: codes("DIGEST_INVALID"), 404: codes("BLOB_UNKNOWN")}
BAD_DIGEST_OR_NO_ROUTE = {400: codes("DIGEST_INVALID"), 404: NO_BODY}
BAD_MANIFEST_DIGEST = {400: codes("DIGEST_INVALID"), 404: codes("MANIFEST_UNKNOWN")}
METHOD_NOT_ALLOWED = {405: ANY_CODE, 404: ANY_CODE}
HEX64 = "a" * 64
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _seeded_manifest(seed) -> bytes:
    return seed.manifest


def _manifest_put(row_id: str, target: str, expect) -> Row:
    """PUT the (valid) seeded manifest under a hostile name: only the name is wrong."""
    return Row(row_id, "PUT", target, expect, {"Content-Type": MANIFEST}, _seeded_manifest)


NAME_ROWS = [
    Row("name-dotdot-above-v2", "GET", "/v2/../../etc/passwd", NAME_INVALID_OR_NO_ROUTE),
    _manifest_put("name-dotdot-put-manifest", "/v2/../../../tmp/escape/manifests/t",
                  NAME_INVALID_OR_NO_ROUTE),
    Row("name-encoded-dotdot-get", "GET", "/v2/a/%2e%2e/b/manifests/t", NAME_INVALID_OR_UNKNOWN),
    _manifest_put("name-encoded-dotdot-put", "/v2/hostile/%2e%2e/%2e%2e/%2e%2e/escape/manifests/t",
                  NAME_INVALID_OR_NO_ROUTE),
    _manifest_put("name-encoded-slash-dotdot-put", "/v2/hostile%2F..%2F..%2F..%2Fescape/manifests/t",
                  NAME_INVALID_OR_NO_ROUTE),
    Row("name-encoded-slash-dotdot-upload", "POST",
        "/v2/hostile%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fescape/blobs/uploads/", NAME_INVALID_OR_NO_ROUTE),
    Row("name-dotdot-component-upload", "POST", "/v2/hostile/../../../escape/blobs/uploads/",
        NAME_INVALID_OR_NO_ROUTE),
    Row("name-single-dot-component", "POST", "/v2/hostile/%2e/app/blobs/uploads/",
        NAME_INVALID_OR_NO_ROUTE),
    Row("name-upper-case-get", "GET", "/v2/Hostile/App/tags/list", NAME_INVALID),
    _manifest_put("name-upper-case-put", "/v2/hostile/APP/manifests/t", NAME_INVALID),
    Row("name-256-chars-get", "GET", f"/v2/{'a' * 256}/tags/list", NAME_INVALID),
    Row("name-300-chars-upload", "POST", f"/v2/{'/'.join(['abcdefghi'] * 30)}/blobs/uploads/",
        NAME_INVALID),
    Row("name-encoded-nul", "GET", "/v2/hostile/a%00b/tags/list", NAME_INVALID),
    _manifest_put("name-encoded-nul-put", "/v2/hostile/a%00/manifests/t", NAME_INVALID),
    Row("name-raw-nul-in-path", "GET", b"/v2/hostile/a\x00b/tags/list", {400: NO_BODY}),
    Row("name-empty", "GET", "/v2//tags/list", NAME_INVALID_OR_NO_ROUTE),
    Row("name-double-slash", "GET", "/v2/hostile//app/tags/list", NAME_INVALID_OR_NO_ROUTE),
    Row("name-leading-separator", "GET", "/v2/-hostile/tags/list", NAME_INVALID),
    Row("name-backslash", "GET", "/v2/hostile%5C..%5Capp/tags/list", NAME_INVALID),
    Row("tag-encoded-nul", "GET", "/v2/{repo}/manifests/v1%00x",
        {404: codes("MANIFEST_UNKNOWN"), 400: codes("MANIFEST_INVALID")}),
]

DIGEST_ROWS = [
    Row("digest-short", "GET", "/v2/{repo}/blobs/sha256:short", BAD_BLOB_DIGEST),
    Row("digest-md5", "GET", "/v2/{repo}/blobs/md5:d41d8cd98f00b204e9800998ecf8427e",
        {**BAD_BLOB_DIGEST, 400: codes("DIGEST_INVALID", "UNSUPPORTED")}),
    Row("digest-unknown-algorithm", "HEAD", f"/v2/{{repo}}/blobs/sha999:{HEX64}",
        {400: NO_BODY, 404: NO_BODY}),  # HEAD: no body to carry a code
    Row("digest-unknown-algorithm-get", "GET", f"/v2/{{repo}}/blobs/sha999:{HEX64}",
        {**BAD_BLOB_DIGEST, 400: codes("DIGEST_INVALID", "UNSUPPORTED")}),
    Row("digest-upper-hex", "GET", f"/v2/{{repo}}/blobs/sha256:{'A' * 64}", BAD_BLOB_DIGEST),
    Row("digest-sha512-wrong-length", "GET", f"/v2/{{repo}}/blobs/sha512:{HEX64}", BAD_BLOB_DIGEST),
    Row("digest-traversal-raw", "GET", "/v2/{repo}/blobs/sha256:../../etc", BAD_DIGEST_OR_NO_ROUTE),
    Row("digest-traversal-encoded", "GET", "/v2/{repo}/blobs/sha256:..%2F..%2F..%2Fetc%2Fpasswd",
        {**BAD_BLOB_DIGEST, 404: NO_BODY}),
    Row("digest-traversal-delete", "DELETE", "/v2/{repo}/blobs/sha256:..%2f..%2f_layers",
        {**BAD_BLOB_DIGEST, 404: NO_BODY, 405: codes("UNSUPPORTED")}),
    Row("digest-manifest-short", "GET", "/v2/{repo}/manifests/sha256:short", BAD_MANIFEST_DIGEST),
    Row("digest-manifest-traversal", "DELETE", "/v2/{repo}/manifests/sha256:..%2F..%2F_layers",
        {**BAD_MANIFEST_DIGEST, 405: codes("UNSUPPORTED")}),
    Row("blob-of-other-repository", "GET", f"/v2/{OTHER_REPO}/blobs/{{layer}}",
        {404: codes("BLOB_UNKNOWN")}),
    Row("foreign-blob-not-visible", "GET", "/v2/{repo}/blobs/{foreign}", {404: codes("BLOB_UNKNOWN")}),
    Row("foreign-blob-not-deletable", "DELETE", "/v2/{repo}/blobs/{foreign}",
        {404: codes("BLOB_UNKNOWN"), 405: codes("UNSUPPORTED")}),
]

METHOD_ROWS = [
    Row("method-trace", "TRACE", "/v2/", METHOD_NOT_ALLOWED),
    Row("method-propfind", "PROPFIND", "/v2/{repo}/manifests/{tag}", METHOD_NOT_ALLOWED),
    Row("method-mkcol-blob", "MKCOL", "/v2/{repo}/blobs/{layer}", METHOD_NOT_ALLOWED),
    Row("method-post-manifest", "POST", "/v2/{repo}/manifests/{tag}", METHOD_NOT_ALLOWED),
    Row("method-connect", "CONNECT", "127.0.0.1:22", {400: NO_BODY, **METHOD_NOT_ALLOWED}),
    Row("request-line-garbage", "GARBAGE", b"", {400: NO_BODY}),
]

ROWS = NAME_ROWS + DIGEST_ROWS + METHOD_ROWS
