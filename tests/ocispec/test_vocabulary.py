import json

import pytest

from ocispec import mediatypes as mt
from ocispec.digest import Digest, Verifier
from ocispec.errors import ErrorCode, OciError, parse_error_body
from ocispec.manifest import parse_manifest
from ocispec.reference import Reference, is_valid_name

HEX = "a" * 64


@pytest.mark.parametrize("text,ok", [
    (f"sha256:{HEX}", True),
    (f"sha512:{'b' * 128}", True),
    (f"sha256:{HEX[:-1]}", False),
    (f"sha256:{HEX.upper()}", False),
    (f"md5:{HEX}", False),
    ("sha256", False),
    (f"sha256:../{HEX}", False),
    ("", False),
])
def test_digest_parse(text, ok):
    assert Digest.is_valid(text) is ok


def test_verifier_catches_mismatch():
    good = Digest.of_bytes(b"hello")
    verifier = Verifier(good, size=5)
    verifier.update(b"hel")
    verifier.update(b"lo")
    assert verifier.verify() == good
    bad = Verifier(good)
    bad.update(b"jello")
    with pytest.raises(OciError) as info:
        bad.verify()
    assert info.value.code is ErrorCode.DIGEST_INVALID


@pytest.mark.parametrize("name,ok", [
    ("library/busybox", True), ("a/b-c/d_e.f", True), ("a__b", True),
    ("UPPER", False), ("a/../b", False), ("..", False), ("/abs", False), ("a//b", False),
    ("a" * 256, False), ("a-", False),
])
def test_repository_names(name, ok):
    assert is_valid_name(name) is ok


@pytest.mark.parametrize("text,expected", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("user/app:1.0", "docker.io/user/app:1.0"),
    ("127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest"),
    (f"localhost/x@sha256:{HEX}", f"localhost/x@sha256:{HEX}"),
    (f"h.io/x:t@sha256:{HEX}", f"h.io/x:t@sha256:{HEX}"),
])
def test_reference_normalization(text, expected):
    assert str(Reference.parse(text)) == expected


@pytest.mark.parametrize("text", ["Upper/Case", "a:b:c", "x@sha256:short", "host:port/x", ""])
def test_reference_rejects(text):
    with pytest.raises(ValueError):
        Reference.parse(text)


def _manifest(**extra):
    body = {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": f"sha256:{HEX}", "size": 2},
            "layers": [{"mediaType": mt.OCI_LAYER_GZIP, "digest": f"sha256:{'b' * 64}", "size": 3}]}
    body.update(extra)
    return json.dumps(body).encode()


def test_parse_manifest_keeps_bytes_and_references():
    raw = _manifest(subject={"mediaType": mt.OCI_MANIFEST, "digest": f"sha256:{'c' * 64}", "size": 9})
    manifest = parse_manifest(raw, mt.OCI_MANIFEST)
    assert manifest.raw == raw
    assert manifest.digest == Digest.of_bytes(raw)
    assert [str(d.digest) for d in manifest.blob_references()] == [f"sha256:{HEX}", f"sha256:{'b' * 64}"]
    assert manifest.subject.digest.encoded == "c" * 64
    assert manifest.effective_artifact_type() == mt.OCI_CONFIG


@pytest.mark.parametrize("raw,content_type", [
    (b"not json", mt.OCI_MANIFEST),
    (b"[]", mt.OCI_MANIFEST),
    (_manifest(schemaVersion=1), mt.OCI_MANIFEST),
    (_manifest(), mt.DOCKER_MANIFEST),  # body says OCI, header says Docker
    (_manifest(layers=[{"digest": "nope"}]), mt.OCI_MANIFEST),
])
def test_parse_manifest_rejects(raw, content_type):
    with pytest.raises(OciError) as info:
        parse_manifest(raw, content_type)
    assert info.value.code is ErrorCode.MANIFEST_INVALID


def test_error_body_round_trip():
    body = OciError(ErrorCode.BLOB_UNKNOWN, detail={"digest": "x"}).to_body()
    [err] = parse_error_body(body, 404)
    assert err.code is ErrorCode.BLOB_UNKNOWN and err.detail == {"digest": "x"}


def test_error_code_outside_the_table_is_unknown_with_its_words_kept():
    body = json.dumps({"errors": [{"code": "RANGE_INVALID"}, {"code": "X", "message": "why"}]}).encode()
    first, second = parse_error_body(body, 416)
    assert (first.code, first.message, first.status) == (ErrorCode.UNKNOWN, "RANGE_INVALID", 416)
    assert (second.code, second.message) == (ErrorCode.UNKNOWN, "why")


@pytest.mark.parametrize("text", ["name\n", f"sha256:{HEX}\n"])
def test_trailing_newline_is_not_valid(text):
    assert not is_valid_name(text) and not Digest.is_valid(text)


def test_descriptor_with_non_list_urls_is_manifest_invalid():
    raw = _manifest(layers=[{"mediaType": mt.OCI_LAYER, "digest": f"sha256:{HEX}", "size": 1, "urls": 5}])
    with pytest.raises(OciError) as info:
        parse_manifest(raw, mt.OCI_MANIFEST)
    assert info.value.code is ErrorCode.MANIFEST_INVALID


def test_deeply_nested_json_is_manifest_invalid():
    with pytest.raises(OciError) as info:
        parse_manifest(b"[" * 100_000, mt.OCI_MANIFEST)
    assert info.value.code is ErrorCode.MANIFEST_INVALID
    assert info.value.message == "manifest is nested too deeply"
