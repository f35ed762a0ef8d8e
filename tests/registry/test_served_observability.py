"""Observability of a real `pyreg serve`: /metrics merged over two workers and
read with prometheus_client's parser, the debug listener's /debug/health
going 503 when the storage root becomes unusable, /healthz, X-Request-Id
accepted, replaced or generated and found in the JSON access log."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.registry.seed import image_manifest, push_blob, push_manifest, sha256
from tests.support.processes import free_port
from tests.support.pyreg_server import REPO_ROOT, pyreg_process, pyreg_server

CONFIG = b'{"architecture":"amd64","os":"linux"}'


def config_file(tmp_path: Path, **sections) -> str:
    config = {"version": "0.1", "storage": {"filesystem": {"rootdirectory": str(tmp_path / "data")}}, **sections}
    path = tmp_path / "config.yml"
    path.write_text(json.dumps(config))  # YAML reads JSON
    return str(path)


async def get(url: str, **kwargs) -> tuple:
    """A request on a connection of its own: with several workers, the
    kernel hands each new connection to any of them. (status, body, headers)"""
    async with aiohttp.ClientSession() as session, session.get(url, **kwargs) as response:
        return response.status, await response.text(), response.headers.copy()


async def scrape(url: str) -> dict[tuple[str, tuple], float]:
    status, text, headers = await get(url)
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_of_two_workers_are_merged_and_parse(tmp_path):
    debug = f"127.0.0.1:{free_port()}"
    config = config_file(tmp_path, pyreg={"metrics": {"enabled": True}},
                         http={"debug": {"addr": debug, "prometheus": {"enabled": True, "path": "/prom"}}})
    layer = os.urandom(200_000)
    manifest = image_manifest(CONFIG, [layer])
    with pyreg_server(None, ["--config", config, "--workers", "2"]) as url:
        async with aiohttp.ClientSession(base_url=url) as client:
            await push_blob(client, "app", layer)
            await push_blob(client, "app", CONFIG)
            await push_manifest(client, "app", "v1", manifest)
        for _ in range(12):
            assert (await get(f"{url}/v2/app/manifests/v1"))[0] == 200
        for _ in range(3):
            assert (await get(f"{url}/v2/app/manifests/missing"))[0] == 404
        for scraped in [await scrape(f"{url}/metrics") for _ in range(4)] + [await scrape(f"http://{debug}/prom")]:
            assert value(scraped, "pyreg_http_requests_total", route="manifest", method="GET", status="200") == 12
            assert value(scraped, "pyreg_http_requests_total", route="manifest", method="GET", status="404") == 3
            assert value(scraped, "pyreg_http_requests_total", route="manifest", method="PUT", status="201") == 1
            assert value(scraped, "pyreg_http_request_bytes_total", route="upload start") == len(layer) + len(CONFIG)
            assert value(scraped, "pyreg_http_response_bytes_total", route="manifest") >= 12 * len(manifest)
            buckets = [value(scraped, "pyreg_http_request_duration_seconds_bucket", route="manifest", method="GET",
                             le=le) for le in ("0.001", "0.01", "0.1", "1.0", "+Inf")]
            assert buckets == sorted(buckets) and buckets[-1] == 15 and buckets[0] < 15
            assert value(scraped, "pyreg_storage_operation_duration_seconds_count",
                         driver="filesystem", operation="writer") >= 2
            assert value(scraped, "pyreg_uploads_in_progress") == 0


async def test_debug_health_reports_an_unusable_storage_root(tmp_path):
    debug = f"127.0.0.1:{free_port()}"
    config = config_file(tmp_path, http={"debug": {"addr": debug}},
                         health={"storagedriver": {"enabled": True, "interval": "100ms", "threshold": 2}})
    root = tmp_path / "data"
    with pyreg_server(None, ["--config", config]) as url:
        status, body, _ = await get(f"http://{debug}/debug/health")
        assert (status, json.loads(body)) == (200, {})
        assert (await get(f"{url}/healthz"))[:2] == (200, "ok\n")
        assert (await get(f"{url}/metrics"))[0] == 404  # pyreg.metrics.enabled is off
        root.rename(tmp_path / "moved")
        root.symlink_to(root)  # a loop: every path below it fails with ELOOP
        status, body = await wait_for_status(f"http://{debug}/debug/health", 503)
        assert "Too many levels of symbolic links" in json.loads(body)["storagedriver_filesystem"]
        assert (await get(f"{url}/healthz"))[:2] == (503, "unhealthy: storagedriver_filesystem\n")
        root.unlink()
        (tmp_path / "moved").rename(root)
        await wait_for_status(f"http://{debug}/debug/health", 200)
        assert (await get(f"{url}/healthz"))[0] == 200


async def wait_for_status(url: str, wanted: int, timeout: float = 10.0) -> tuple[int, str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        status, body, _ = await get(url)
        if status == wanted:
            return status, body
        assert loop.time() < deadline, f"{url} still answers {status}"
        await asyncio.sleep(0.05)


async def test_request_ids_are_echoed_and_logged_as_json(tmp_path):
    config = config_file(tmp_path, log={"formatter": "json", "accesslog": {"disabled": False}})
    log_path = tmp_path / "stderr"
    with open(log_path, "wb") as stderr, pyreg_process(None, ["--config", config], stderr=stderr) as (url, _):
        _, _, given = await get(f"{url}/v2/", headers={"X-Request-Id": "build-7:step.3"})
        _, _, missing = await get(f"{url}/v2/nothing/manifests/v1")
        _, _, insane = await get(f"{url}/v2/", headers={"X-Request-Id": "x" * 129})
    assert given["X-Request-Id"] == "build-7:step.3"
    generated, replaced = missing["X-Request-Id"], insane["X-Request-Id"]
    assert len(generated) == len(replaced) == 36 and generated != replaced  # fresh UUIDs
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = {line["request_id"]: line for line in lines if line["logger"] == "aiohttp.access"}
    assert access["build-7:step.3"]["uri"] == "/v2/" and access["build-7:step.3"]["status"] == 200
    assert access[generated]["status"] == 404 and access[generated]["method"] == "GET"
    assert access[replaced]["uri"] == "/v2/"


def test_a_bad_notifications_endpoint_stops_start_up_with_one_line(tmp_path):
    config = config_file(tmp_path, notifications={"endpoints": [{"name": "x", "url": "http://127.0.0.1:1/",
                                                                 "timout": "1s"}]})
    done = subprocess.run([sys.executable, "-m", "pyreg_cli.main", "serve", "--config", config,
                           "--addr", f"127.0.0.1:{free_port()}"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "pyreg: notifications.endpoints[0].timout is not a notifications endpoint key"]
