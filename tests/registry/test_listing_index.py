"""The listing index on S3 (moto over HTTP): data Distribution wrote gets an
index on its first listing, pages then come from it in catalog order, and
pushes and deletes keep it true."""
from __future__ import annotations

from registry import paths
from registry.app import make_app
from registry.config import RegistryConfig
from registry.store import RegistryStore
from storage_backends.factory import make_driver
from tests.support.registry_layout import make_layout, write_bucket

from .seed import image_manifest, push_blob, push_manifest
from .test_catalog import TRICKY, catalog_sorted


def _bucket_with(moto_s3, repositories: list[str], tags: int = 0) -> str:
    """A bucket holding a Distribution-written layout: one image per
    repository (tagged v0..), no pyreg index."""
    bucket = moto_s3.create_bucket()
    layout = make_layout(repositories=1, tagged=max(tags, 1), untagged=0, bases=1, orphans=0)
    files = {}
    for name in repositories:
        for key, data in layout.files.items():
            files[key.replace("repositories/team0/app0/", f"repositories/{name}/")] = data
    layout.files = files
    write_bucket(layout, moto_s3.client(), bucket)
    return bucket


def _keys(moto_s3, bucket: str, prefix: str) -> list[str]:
    pages = moto_s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


async def _pages(client, path: str, key: str, n: int) -> list[str]:
    seen, url = [], f"{path}?n={n}"
    while url:
        response = await client.get(url)
        assert response.status == 200, await response.text()
        page = (await response.json())[key]
        assert len(page) <= n
        seen += page
        url = response.headers.get("Link", "").partition(">")[0].lstrip("<") or None
    return seen


async def test_catalog_from_distribution_data_is_indexed_once_then_kept(aiohttp_client, moto_s3):
    names = TRICKY + [f"org/app{i:03d}" for i in range(40)]
    bucket = _bucket_with(moto_s3, names)
    driver = make_driver(moto_s3.settings(bucket))
    client = await aiohttp_client(make_app(RegistryConfig(), driver))
    assert await _pages(client, "/v2/_catalog", "repositories", 7) == catalog_sorted(names)
    entries = _keys(moto_s3, bucket, paths.CATALOG_INDEX + "/")
    assert len(entries) == len(names) and _keys(moto_s3, bucket, paths.CATALOG_INDEX_BUILT)
    config = await push_blob(client, "a-new/one", b"{}")
    await push_manifest(client, "a-new/one", "latest", image_manifest(b"{}", []))
    assert "a-new/one" in await _pages(client, "/v2/_catalog", "repositories", 1000)
    assert config and len(_keys(moto_s3, bucket, paths.CATALOG_INDEX + "/")) == len(names) + 1


async def test_tags_are_indexed_from_the_layout_and_follow_deletes(aiohttp_client, moto_s3):
    bucket = _bucket_with(moto_s3, ["team/app"], tags=30)
    half = f"{paths.tag_dir('team/app', 'v15x')}/index/sha256/{'0' * 64}/link"
    moto_s3.client().put_object(Bucket=bucket, Key=half, Body=b"")  # Distribution stopped mid-tag
    driver = make_driver(moto_s3.settings(bucket))
    client = await aiohttp_client(make_app(RegistryConfig(), driver))
    expected = sorted(f"v{number}" for number in range(30))
    assert await _pages(client, "/v2/team/app/tags/list", "tags", 4) == expected
    assert len(_keys(moto_s3, bucket, paths.tag_index("team/app") + "/")) == 30
    assert (await client.delete("/v2/team/app/manifests/v3")).status == 202
    assert await _pages(client, "/v2/team/app/tags/list", "tags", 7) == [t for t in expected if t != "v3"]
    unknown = await client.get("/v2/nobody/here/tags/list")
    assert unknown.status == 404 and not _keys(moto_s3, bucket, paths.tag_index_built("nobody/here"))


async def test_deletes_keep_the_index_true(aiohttp_client, moto_s3):
    bucket = moto_s3.create_bucket()
    driver = make_driver(moto_s3.settings(bucket))
    client = await aiohttp_client(make_app(RegistryConfig(delete_enabled=True), driver))
    await push_blob(client, "gone/soon", b"{}")
    digest = await push_manifest(client, "gone/soon", "v1", image_manifest(b"{}", []))
    await push_manifest(client, "gone/soon", "v2", image_manifest(b"{}", []))
    assert await _pages(client, "/v2/gone/soon/tags/list", "tags", 10) == ["v1", "v2"]
    assert (await client.delete(f"/v2/gone/soon/manifests/{digest}")).status == 202
    assert await _pages(client, "/v2/_catalog", "repositories", 10) == []
    assert _keys(moto_s3, bucket, paths.INDEX + "/tags/") == []


async def test_a_read_only_store_walks_instead_of_writing_an_index(moto_s3):
    bucket = _bucket_with(moto_s3, ["b", "a/x", "a-b"])
    store = RegistryStore(make_driver(moto_s3.settings(bucket)), writable=False)
    assert await store.repositories(10) == ["a/x", "a-b", "b"]
    assert await store.tags.names("a/x", "", 10) == ["v0"]
    assert _keys(moto_s3, bucket, paths.INDEX) == []


async def test_indexed_tags_come_in_tag_order_where_key_order_differs(aiohttp_client, moto_s3):
    """'v1/' sorts after 'v1-x/' as keys; the index spells entries so that
    the bucket's order is the tags' order."""
    driver = make_driver(moto_s3.settings(moto_s3.create_bucket()))
    client = await aiohttp_client(make_app(RegistryConfig(), driver))
    await push_blob(client, "order/app", b"{}")
    tags = ["v1", "v1-x", "v1.x", "v1_x", "v10", "V1", "v1-"]
    for tag in tags:
        await push_manifest(client, "order/app", tag, image_manifest(b"{}", []))
    assert await _pages(client, "/v2/order/app/tags/list", "tags", 2) == sorted(tags)


def _count_calls(driver) -> dict:
    calls: dict[str, int] = {}
    driver._client.meta.events.register(
        "before-call.s3.*", lambda model, **_: calls.update({model.name: calls.get(model.name, 0) + 1}))
    return calls


async def test_a_repeated_tag_page_costs_one_get_and_no_listing(aiohttp_client, moto_s3):
    driver = make_driver(moto_s3.settings(_bucket_with(moto_s3, ["team/app"], tags=12)))
    client = await aiohttp_client(make_app(RegistryConfig(), driver))
    first = await _pages(client, "/v2/team/app/tags/list", "tags", 5)
    calls = _count_calls(driver)
    assert await _pages(client, "/v2/team/app/tags/list", "tags", 5) == first
    assert calls == {"GetObject": 3}  # the index version, once for each of the 3 pages


async def test_kept_tag_pages_follow_a_push_and_a_delete_on_another_replica(aiohttp_client, moto_s3):
    """Two apps on one bucket: what one changes, the other's next page shows."""
    bucket = moto_s3.create_bucket()
    config = RegistryConfig(delete_enabled=True)
    reader = await aiohttp_client(make_app(config, make_driver(moto_s3.settings(bucket))))
    writer = await aiohttp_client(make_app(config, make_driver(moto_s3.settings(bucket))))
    await push_blob(writer, "two/app", b"{}")
    await push_manifest(writer, "two/app", "v1", image_manifest(b"{}", []))
    assert await _pages(reader, "/v2/two/app/tags/list", "tags", 10) == ["v1"]
    await push_blob(writer, "two/app", b"layer")
    await push_manifest(writer, "two/app", "v2", image_manifest(b"{}", [b"layer"]))
    assert await _pages(reader, "/v2/two/app/tags/list", "tags", 10) == ["v1", "v2"]
    assert (await writer.delete("/v2/two/app/manifests/v1")).status == 202
    assert await _pages(reader, "/v2/two/app/tags/list", "tags", 10) == ["v2"]
