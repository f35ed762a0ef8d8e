"""A selection of the API table rows against S3 storage (moto's server as a
real S3 endpoint over HTTP), plus a blob GET answered by a redirect."""
from __future__ import annotations

import asyncio

import pytest

from registry.app import make_app
from registry.config import RegistryConfig
from storage_backends.factory import make_driver

from .api_table import run_row
from .test_api_blobs import ROWS as BLOB_ROWS
from .test_api_discovery import ROWS as DISCOVERY_ROWS
from .test_api_manifests import ROWS as MANIFEST_ROWS
from .test_api_uploads import ROWS as UPLOAD_ROWS

CHOSEN = {"get-big", "range", "linked-elsewhere-only", "mount", "patch-out-of-order",
          "finish-with-last-chunk", "finish-mismatch", "put-missing-layer", "delete-digest",
          "tags-first-page", "referrers"}
ROWS = [row for row in BLOB_ROWS + UPLOAD_ROWS + MANIFEST_ROWS + DISCOVERY_ROWS if row.id in CHOSEN]


@pytest.fixture
def s3_endpoint(moto_s3):
    return moto_s3


@pytest.fixture
def bucket(s3_endpoint):
    return s3_endpoint.create_bucket()


@pytest.fixture
def driver(s3_endpoint, bucket):
    return make_driver(s3_endpoint.settings(bucket))


@pytest.fixture
def snapshot(s3_endpoint, bucket):
    """All object keys in one listing call (walking the tree over S3 is slow)."""
    s3 = s3_endpoint.client()

    def keys() -> set[str]:
        found = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            found.update(item["Key"] for item in page.get("Contents", []))
        return found

    return lambda: asyncio.to_thread(keys)


def test_every_chosen_row_exists():
    assert len(ROWS) == len(CHOSEN)


@pytest.mark.parametrize("row", ROWS, ids=str)
async def test_api_on_s3(row, client, snapshot, seed):
    await run_row(row, client, snapshot, seed)


async def test_blob_get_redirects_to_s3(aiohttp_client, s3_endpoint, seed_on_redirecting_s3):
    client, seed = seed_on_redirecting_s3
    response = await client.get("/v2/seed/repo/blobs/{layer}".format(**seed), allow_redirects=False)
    assert response.status == 307
    location = response.headers["Location"]
    assert location.startswith(s3_endpoint.url)
    followed = await client.get("/v2/seed/repo/blobs/{layer}".format(**seed))
    assert await followed.read() == seed["_layer_bytes"]


@pytest.fixture
async def seed_on_redirecting_s3(aiohttp_client, s3_endpoint):
    from .seed import seed_registry
    storage = s3_endpoint.settings(s3_endpoint.create_bucket(), redirect=True)
    config = RegistryConfig(storage=storage)
    client = await aiohttp_client(make_app(config))
    return client, await seed_registry(client)
