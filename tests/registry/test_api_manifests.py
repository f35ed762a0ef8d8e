"""Manifest GET/HEAD/PUT/DELETE by tag and digest, one row per request."""
from __future__ import annotations

import hashlib
import json

import pytest

from ocispec import mediatypes as mt

from .api_table import Row, run_row
from .seed import descriptor, image_manifest, index_manifest, sha256

M = "/v2/seed/repo/manifests"
OCI = {"Content-Type": mt.OCI_MANIFEST}


def digest_of(make):
    return lambda seed: sha256(make(seed))


def same_image(seed) -> bytes:
    return seed["_manifest_bytes"]


def retagged(seed) -> bytes:  # a new manifest over the seeded blobs
    return image_manifest(seed["_config_bytes"], [seed["_layer_bytes"]],
                          annotations={"org.example.v": "2"})


def missing_layer(seed) -> bytes:
    return image_manifest(seed["_config_bytes"], [b"never pushed"])


def index_of_seeded(seed) -> bytes:
    return index_manifest([seed["_manifest_bytes"]])


def index_of_missing(seed) -> bytes:
    return index_manifest([b'{"not": "pushed"}'])


def docker_image(seed) -> bytes:
    return image_manifest(seed["_config_bytes"], [seed["_layer_bytes"]], mt.DOCKER_MANIFEST)


def with_subject(seed) -> bytes:
    subject = {"mediaType": mt.OCI_MANIFEST, "digest": seed["missing"], "size": 7}
    return image_manifest(seed["_config_bytes"], [], subject=subject, artifactType="x/y")


def huge(seed) -> bytes:
    return image_manifest(seed["_config_bytes"], [], annotations={"pad": "x" * (4 * 1024 * 1024)})


def schema1(seed) -> bytes:
    return json.dumps({"schemaVersion": 1, "name": "seed/repo", "tag": "v9", "fsLayers": []}).encode()


def is_digest_location(value: str) -> bool:
    return value.startswith("/v2/seed/repo/manifests/sha256:")


ROWS = [
    Row("get-by-tag", "GET", M + "/v1", 200, expect_body=same_image,
        expect_headers={"Content-Type": mt.OCI_MANIFEST, "Docker-Content-Digest": "{manifest}",
                        "Content-Length": "{manifest_len}"}),
    Row("get-by-digest", "GET", M + "/{manifest}", 200, expect_body=same_image,
        expect_headers={"Docker-Content-Digest": "{manifest}"}),
    Row("head-by-tag", "HEAD", M + "/v1", 200, expect_body=b"",
        expect_headers={"Content-Length": "{manifest_len}", "Docker-Content-Digest": "{manifest}",
                        "Content-Type": mt.OCI_MANIFEST}),
    Row("not-modified", "GET", M + "/v1", 304, headers={"If-None-Match": '"{manifest}"'},
        expect_body=b"", expect_headers={"Docker-Content-Digest": "{manifest}"}),
    Row("modified", "GET", M + "/v1", 200, headers={"If-None-Match": '"sha256:old"'},
        expect_body=same_image),
    Row("unknown-tag", "GET", M + "/nope", 404, "MANIFEST_UNKNOWN"),
    Row("unknown-tag-head", "HEAD", M + "/nope", 404, "MANIFEST_UNKNOWN"),
    Row("unknown-digest", "GET", M + "/{missing}", 404, "MANIFEST_UNKNOWN"),
    Row("other-repos-manifest", "GET", M + "/{other_manifest}", 404, "MANIFEST_UNKNOWN"),
    Row("invalid-tag", "GET", M + "/-bad", 404, "MANIFEST_UNKNOWN"),
    Row("invalid-digest", "GET", M + "/sha256:123", 400, "DIGEST_INVALID"),
    Row("unknown-repo", "GET", "/v2/nobody/here/manifests/v1", 404, "MANIFEST_UNKNOWN"),
    Row("put-tag", "PUT", M + "/v2", 201, headers=OCI, body=retagged,
        expect_headers={"Location": is_digest_location, "OCI-Subject": None,
                        "Docker-Content-Digest": lambda v: v.startswith("sha256:")},
        then=(("GET", M + "/v2", 200),)),
    Row("put-digest-of-other-content", "PUT", "/v2/fresh/manifests/{config}", 400, "DIGEST_INVALID",
        headers=OCI, body=same_image),
    Row("put-digest-mismatch", "PUT", M + "/{missing}", 400, "DIGEST_INVALID", headers=OCI,
        body=retagged),
    Row("put-bogus-digest", "PUT", M + "/sha256:totallywrong", 400, "DIGEST_INVALID", headers=OCI,
        body=retagged),
    Row("put-missing-layer", "PUT", M + "/v3", 400, "MANIFEST_BLOB_UNKNOWN", headers=OCI,
        body=missing_layer),
    Row("put-blobs-of-other-repo", "PUT", "/v2/other/manifests/stolen", 400, "MANIFEST_BLOB_UNKNOWN",
        headers=OCI, body=same_image),
    Row("put-index", "PUT", M + "/multi", 201, headers={"Content-Type": mt.OCI_INDEX},
        body=index_of_seeded, then=(("GET", M + "/multi", 200),)),
    Row("put-index-missing-child", "PUT", M + "/multi", 400, "MANIFEST_BLOB_UNKNOWN",
        headers={"Content-Type": mt.OCI_INDEX}, body=index_of_missing),
    Row("put-not-json", "PUT", M + "/v3", 400, "MANIFEST_INVALID", headers=OCI, body=b"{nope"),
    Row("put-json-array", "PUT", M + "/v3", 400, "MANIFEST_INVALID", headers=OCI, body=b"[]"),
    Row("put-no-config", "PUT", M + "/v3", 400, "MANIFEST_INVALID", headers=OCI,
        body=b'{"schemaVersion": 2, "mediaType": "%s", "layers": []}' % mt.OCI_MANIFEST.encode()),
    Row("put-bad-descriptor", "PUT", M + "/v3", 400, "MANIFEST_INVALID", headers=OCI,
        body=b'{"schemaVersion": 2, "config": {"mediaType": "a/b", "digest": "sha256:1", "size": 1}}'),
    Row("put-type-mismatch", "PUT", M + "/v3", 400, "MANIFEST_INVALID",
        headers={"Content-Type": mt.DOCKER_MANIFEST}, body=retagged),
    Row("put-schema1", "PUT", M + "/v3", 400, "MANIFEST_INVALID",
        headers={"Content-Type": mt.DOCKER_SCHEMA1}, body=schema1),
    Row("put-too-large", "PUT", M + "/v3", 413, "SIZE_INVALID", headers=OCI, body=huge),
    Row("put-invalid-tag", "PUT", M + "/-v3", 400, "MANIFEST_INVALID", headers=OCI, body=retagged),
    Row("put-tag-with-newline", "PUT", M + "/v3%0A", 400, "MANIFEST_INVALID", headers=OCI,
        body=retagged),
    Row("put-bad-name", "PUT", "/v2/UPPER/manifests/v1", 400, "NAME_INVALID", headers=OCI,
        body=retagged),
    Row("put-docker-manifest", "PUT", M + "/docker", 201,
        headers={"Content-Type": mt.DOCKER_MANIFEST}, body=docker_image),
    Row("put-with-unknown-subject", "PUT", M + "/signed", 201, headers=OCI, body=with_subject,
        expect_headers={"OCI-Subject": "{missing}"}),
    Row("delete-tag", "DELETE", M + "/v1", 202,
        then=(("GET", M + "/v1", 404), ("GET", M + "/a", 200), ("GET", M + "/{manifest}", 200))),
    Row("delete-digest", "DELETE", M + "/{manifest}", 202,
        then=(("GET", M + "/{manifest}", 404), ("GET", M + "/v1", 404), ("GET", M + "/a", 404),
              ("GET", "/v2/seed/repo/blobs/{layer}", 200))),
    Row("delete-unknown-digest", "DELETE", M + "/{missing}", 404, "MANIFEST_UNKNOWN"),
    Row("delete-unknown-tag", "DELETE", M + "/nope", 404, "MANIFEST_UNKNOWN"),
    Row("delete-bad-digest", "DELETE", M + "/sha256:xyz", 400, "DIGEST_INVALID"),
]


@pytest.mark.parametrize("row", ROWS, ids=str)
async def test_manifest_api(row, client, snapshot, seed):
    await run_row(row, client, snapshot, seed)


async def test_put_by_digest_keeps_exact_bytes(client, seed):
    raw = b'{"schemaVersion":2,  "mediaType":"%s","config":%s,"layers":[]}' % (
        mt.OCI_MANIFEST.encode(), json.dumps(descriptor(mt.OCI_CONFIG, seed["_config_bytes"])).encode())
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    put = await client.put(f"{M}/{digest}", data=raw, headers=OCI)
    assert put.status == 201 and put.headers["Location"] == f"{M}/{digest}"
    got = await client.get(f"{M}/{digest}")
    assert await got.read() == raw


async def test_docker_manifest_served_with_its_media_type(client, seed):
    raw = docker_image(seed)
    put = await client.put(f"{M}/docker", data=raw, headers={"Content-Type": mt.DOCKER_MANIFEST})
    assert put.status == 201
    got = await client.get(f"{M}/docker")
    assert got.headers["Content-Type"] == mt.DOCKER_MANIFEST
    assert got.headers["Docker-Content-Digest"] == digest_of(docker_image)(seed)


@pytest.mark.parametrize("opening", ["[", '{"a":'])
async def test_deep_nesting_says_so(client, opening):
    response = await client.put("/v2/team/app/manifests/t", data=(opening * 100_000).encode(),
                                headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert response.status == 400
    assert (await response.json())["errors"][0] == {"code": "MANIFEST_INVALID",
                                                     "message": "manifest is nested too deeply"}
