"""A bucket that briefly answers 503 (a proxy in front of moto's S3 server):
`pyreg serve` rides out a few with boto3's retries, and answers a longer
outage with a 503 and one log line, keeping nothing half-written; every
blob it serves afterwards matches its digest."""
from __future__ import annotations

import hashlib
import json
import os
import time

import aiohttp

from tests.registry.seed import image_manifest, push_blob, push_manifest, sha256
from tests.support.flaky_proxy import flaky_proxy
from tests.support.moto_server import S3Endpoint
from tests.support.pyreg_server import pyreg_process

CONFIG = b'{"architecture":"amd64","os":"linux"}'


def config_through(proxy_url: str, s3: S3Endpoint, bucket: str, tmp_path) -> str:
    storage = S3Endpoint(proxy_url, s3.region, s3.access_key, s3.secret_key).storage_config(bucket)
    path = tmp_path / "config.yml"
    path.write_text(json.dumps({"version": "0.1", "storage": storage}))
    return str(path)


async def pulled(client, name: str, digest: str) -> bytes:
    async with client.get(f"/v2/{name}/blobs/{digest}") as response:
        assert response.status == 200
        return await response.read()


async def test_a_few_503s_are_retried_and_nothing_is_lost(moto_s3, tmp_path):
    bucket = moto_s3.create_bucket()
    layer = os.urandom(300_000)
    with flaky_proxy(moto_s3.url) as proxy, \
            pyreg_process(None, ["--config", config_through(proxy.url, moto_s3, bucket, tmp_path)]) as (url, _):
        async with aiohttp.ClientSession(base_url=url) as client:
            proxy.fail_next(2, methods={"PUT", "POST"})
            await push_blob(client, "app", layer)
            await push_blob(client, "app", CONFIG)
            proxy.fail_next(1, methods={"PUT"})
            digest = await push_manifest(client, "app", "v1", image_manifest(CONFIG, [layer]))
            proxy.fail_next(1, methods={"GET", "HEAD"})
            assert await pulled(client, "app", sha256(layer)) == layer
            async with client.get("/v2/app/manifests/v1") as response:
                assert response.status == 200 and response.headers["Docker-Content-Digest"] == digest
    assert proxy.failed == 4  # each was met, and retried past
    stored = moto_s3.client().get_object(Bucket=bucket, Key=f"docker/registry/v2/blobs/sha256/"
                                         f"{sha256(layer)[7:9]}/{sha256(layer)[7:]}/data")["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == sha256(layer)[7:]


async def test_an_outage_is_answered_503_with_one_log_line_and_keeps_nothing(moto_s3, tmp_path):
    bucket = moto_s3.create_bucket()
    layer = os.urandom(100_000)
    log_path = tmp_path / "stderr"
    with flaky_proxy(moto_s3.url) as proxy, open(log_path, "wb") as stderr, \
            pyreg_process(None, ["--config", config_through(proxy.url, moto_s3, bucket, tmp_path)],
                          stderr=stderr) as (url, _):
        async with aiohttp.ClientSession(base_url=url) as client:
            await push_blob(client, "app", CONFIG)
            proxy.fail_next(1000)
            started = time.monotonic()
            async with client.post(f"/v2/app/blobs/uploads/?digest={sha256(layer)}", data=layer) as refused:
                assert refused.status == 503 and refused.headers["Retry-After"] == "1"
                assert (await refused.json())["errors"][0]["code"] == "UNKNOWN"
            assert time.monotonic() - started < 30  # retries are bounded
            proxy.fail_next(0)
            async with client.head(f"/v2/app/blobs/{sha256(layer)}") as head:
                assert head.status == 404  # nothing of the refused push is visible
            await push_blob(client, "app", layer)  # the client's retry succeeds
            assert await pulled(client, "app", sha256(layer)) == layer
            assert await pulled(client, "app", sha256(CONFIG)) == CONFIG  # what was there before
    log = log_path.read_text()
    assert f"storage unavailable: answered 503 to POST /v2/app/blobs/uploads/" in log
    assert "reached max retries: 3" in log and "Traceback" not in log
