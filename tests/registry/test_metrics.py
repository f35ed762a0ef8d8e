"""/metrics on an app of its own: requests by route and status, latency,
bytes in and out, uploads in progress, storage calls, scraped over HTTP and
read with prometheus_client's own text parser."""
from __future__ import annotations

import asyncio
import os

import pytest
from prometheus_client.parser import text_string_to_metric_families

from registry.app import make_app
from registry.config import RegistryConfig
from registry.metrics import RegistryMetrics
from storage_backends.base import StorageError
from storage_backends.filesystem import FilesystemDriver
from tests.registry.seed import image_manifest, push_blob, push_manifest, sha256

CONFIG = b'{"architecture":"amd64","os":"linux"}'


@pytest.fixture
async def measured(aiohttp_client, tmp_path):
    metrics = RegistryMetrics()
    app = make_app(RegistryConfig(), metrics.instrument(FilesystemDriver(tmp_path / "storage")))
    metrics.install(app)
    return await aiohttp_client(app), metrics


async def scrape(client) -> dict[tuple[str, tuple], float]:
    response = await client.get("/metrics")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_requests_latency_and_bytes_by_route_and_status(measured):
    client, _ = measured
    layer = os.urandom(300_000)
    await push_blob(client, "app", layer)
    await push_blob(client, "app", CONFIG)
    manifest = image_manifest(CONFIG, [layer])
    for tag in ("a", "b", "c"):
        await push_manifest(client, "app", tag, manifest)
    blob = await client.get(f"/v2/app/blobs/{sha256(layer)}")
    assert await blob.read() == layer
    for _ in range(2):
        assert (await client.get("/v2/app/manifests/missing")).status == 404
    samples = await scrape(client)
    assert value(samples, "pyreg_http_requests_total", route="manifest", method="PUT", status="201") == 3
    assert value(samples, "pyreg_http_requests_total", route="manifest", method="GET", status="404") == 2
    assert value(samples, "pyreg_http_requests_total", route="blob", method="GET", status="200") == 1
    assert value(samples, "pyreg_http_request_duration_seconds_count", route="manifest", method="PUT") == 3
    assert value(samples, "pyreg_http_request_bytes_total", route="upload start") == len(layer) + len(CONFIG)
    assert value(samples, "pyreg_http_response_bytes_total", route="blob") == len(layer)
    assert value(samples, "pyreg_storage_operation_duration_seconds_count", driver="filesystem", operation="stat") > 0
    assert value(samples, "pyreg_uploads_in_progress") == 0


async def test_an_upload_in_progress_is_counted_while_its_body_streams(measured):
    client, _ = measured
    start = await client.post("/v2/app/blobs/uploads/")
    gate = asyncio.Event()

    async def body():
        yield b"first"
        await gate.wait()
        yield b"second"
    patch = asyncio.create_task(client.patch(start.headers["Location"], data=body()))
    for _ in range(200):
        if value(await scrape(client), "pyreg_uploads_in_progress") == 1:
            break
        await asyncio.sleep(0.02)
    assert value(await scrape(client), "pyreg_uploads_in_progress") == 1
    gate.set()
    assert (await patch).status == 202
    assert value(await scrape(client), "pyreg_uploads_in_progress") == 0


async def test_storage_errors_are_counted_and_not_found_is_not(measured, tmp_path):
    client, metrics = measured
    driver = metrics.instrument(FilesystemDriver(tmp_path / "other"))
    await driver.put_content("file", b"x")
    with pytest.raises(StorageError):
        await driver.put_content("file/under/a/file", b"y")
    assert not await driver.exists("missing")
    samples = await scrape(client)
    assert value(samples, "pyreg_storage_operation_errors_total", driver="filesystem", operation="put_content") == 1
    assert value(samples, "pyreg_storage_operation_errors_total", driver="filesystem", operation="stat") == 0
    metrics.cache_lookup("manifest", hit=True)
    metrics.cache_lookup("manifest", hit=False)
    metrics.cache_lookup("manifest", hit=True)
    samples = await scrape(client)
    assert value(samples, "pyreg_cache_lookups_total", cache="manifest", result="hit") == 2
    assert value(samples, "pyreg_cache_lookups_total", cache="manifest", result="miss") == 1
