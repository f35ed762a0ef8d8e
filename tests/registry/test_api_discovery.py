"""Content discovery: tags list, catalog and referrers, with pagination and filters."""
from __future__ import annotations

import pytest

from ocispec import mediatypes as mt

from .api_table import Row, run_row
from .seed import SIG_TYPE

T = "/v2/seed/repo/tags/list"


def tags(*names):
    return {"name": "seed/repo", "tags": list(names)}


def referrers_index(*, empty: bool = False):
    def build(seed):
        entry = {"mediaType": mt.OCI_MANIFEST, "digest": seed["referrer"], "size": seed["referrer_len"],
                 "artifactType": SIG_TYPE, "annotations": {"org.example.signed-by": "tests"}}
        return {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [] if empty else [entry]}
    return build


ROWS = [
    Row("tags", "GET", T, 200, expect_json=tags("a", "b", "c", "v1"), expect_headers={"Link": None}),
    Row("tags-first-page", "GET", T + "?n=2", 200, expect_json=tags("a", "b"),
        expect_headers={"Link": f'<{T}?n=2&last=b>; rel="next"'}),
    Row("tags-next-page", "GET", T + "?n=2&last=b", 200, expect_json=tags("c", "v1"),
        expect_headers={"Link": None}),
    Row("tags-after-last", "GET", T + "?last=b", 200, expect_json=tags("c", "v1")),
    Row("tags-last-between", "GET", T + "?n=1&last=bb", 200, expect_json=tags("c"),
        expect_headers={"Link": f'<{T}?n=1&last=c>; rel="next"'}),
    Row("tags-n-zero", "GET", T + "?n=0", 200, expect_json=tags()),
    Row("tags-n-large", "GET", T + "?n=10000", 200, expect_json=tags("a", "b", "c", "v1")),
    Row("tags-n-too-large", "GET", T + "?n=10001", 400, "UNSUPPORTED"),
    Row("tags-n-negative", "GET", T + "?n=-1", 400, "UNSUPPORTED"),
    Row("tags-n-not-a-number", "GET", T + "?n=ten", 400, "UNSUPPORTED"),
    Row("tags-unknown-repo", "GET", "/v2/nobody/tags/list", 404, "NAME_UNKNOWN"),
    Row("tags-bad-name", "GET", "/v2/a..b/tags/list", 400, "NAME_INVALID"),
    Row("catalog", "GET", "/v2/_catalog", 200, expect_json={"repositories": ["other", "seed/repo"]}),
    Row("catalog-page", "GET", "/v2/_catalog?n=1", 200, expect_json={"repositories": ["other"]},
        expect_headers={"Link": '</v2/_catalog?n=1&last=other>; rel="next"'}),
    Row("catalog-next", "GET", "/v2/_catalog?n=1&last=other", 200,
        expect_json={"repositories": ["seed/repo"]}, expect_headers={"Link": None}),
    Row("catalog-n-too-large", "GET", "/v2/_catalog?n=1001", 400, "UNSUPPORTED"),
    Row("catalog-n-garbage", "GET", "/v2/_catalog?n=1e3", 400, "UNSUPPORTED"),
    Row("referrers", "GET", "/v2/seed/repo/referrers/{manifest}", 200,
        expect_json=referrers_index(), expect_headers={"Content-Type": mt.OCI_INDEX,
                                                       "OCI-Filters-Applied": None}),
    Row("referrers-filtered", "GET", f"/v2/seed/repo/referrers/{{manifest}}?artifactType={SIG_TYPE}",
        200, expect_json=referrers_index(), expect_headers={"OCI-Filters-Applied": "artifactType"}),
    Row("referrers-filtered-out", "GET", "/v2/seed/repo/referrers/{manifest}?artifactType=x/y", 200,
        expect_json=referrers_index(empty=True), expect_headers={"OCI-Filters-Applied": "artifactType"}),
    Row("referrers-none", "GET", "/v2/seed/repo/referrers/{missing}", 200,
        expect_json=referrers_index(empty=True), expect_headers={"Content-Type": mt.OCI_INDEX}),
    Row("referrers-other-repo", "GET", "/v2/other/referrers/{manifest}", 200,
        expect_json=referrers_index(empty=True)),
    Row("referrers-bad-digest", "GET", "/v2/seed/repo/referrers/sha256:abc", 400, "DIGEST_INVALID"),
    Row("referrers-bad-name", "GET", "/v2/seed//repo/referrers/{manifest}", 400, "NAME_INVALID"),
]


@pytest.mark.parametrize("row", ROWS, ids=str)
async def test_discovery_api(row, client, snapshot, seed):
    await run_row(row, client, snapshot, seed)


async def test_deleted_referrer_leaves_the_index(client, seed):
    deleted = await client.delete("/v2/seed/repo/manifests/{referrer}".format(**seed))
    assert deleted.status == 202
    response = await client.get("/v2/seed/repo/referrers/{manifest}".format(**seed))
    assert (await response.json(content_type=None))["manifests"] == []


async def test_untagged_repository_lists_no_tags(client, seed):
    for tag in ("a", "b", "c", "v1"):
        assert (await client.delete(f"/v2/seed/repo/manifests/{tag}")).status == 202
    response = await client.get(T)
    assert response.status == 200
    assert (await response.json())["tags"] == []


async def test_repository_emptied_of_manifests_lists_no_tags(client, seed):
    """The conformance suite deletes a manifest, then expects 200 from tags/list."""
    deleted = await client.delete("/v2/other/manifests/{other_manifest}".format(**seed))
    assert deleted.status == 202
    response = await client.get("/v2/other/tags/list")
    assert response.status == 200 and (await response.json())["tags"] == []
    for blob in (seed["other_blob"], seed["config"]):
        assert (await client.delete(f"/v2/other/blobs/{blob}")).status == 202
    gone = await client.get("/v2/other/tags/list")
    assert gone.status == 404


async def test_foreign_manifests_are_indexed_on_first_referrers_request(client, driver, seed):
    """A manifest written straight into storage (as Distribution would) is
    found by the referrers API once: the index is backfilled and marked."""
    from ocispec.digest import Digest
    from registry import paths

    from .seed import descriptor, image_manifest, sha256
    assert not await driver.exists(paths.referrers_marker("other"))  # never asked yet
    subject = descriptor(mt.OCI_MANIFEST, b"subject")
    raw = image_manifest(seed["_config_bytes"], [], subject=subject, artifactType="x/foreign")
    digest = Digest.parse(sha256(raw))
    await driver.put_content(paths.blob_data(digest), raw)
    await driver.put_content(paths.revision_link("other", digest), str(digest).encode())
    response = await client.get(f"/v2/other/referrers/{subject['digest']}")
    assert [m["digest"] for m in (await response.json(content_type=None))["manifests"]] == [str(digest)]
    assert await driver.exists(paths.referrers_marker("other"))


async def test_referrers_of_unknown_repository_store_nothing(client, snapshot, seed):
    before = await snapshot()
    response = await client.get("/v2/never/pushed/referrers/{manifest}".format(**seed))
    assert response.status == 200 and (await response.json(content_type=None))["manifests"] == []
    assert await snapshot() == before
