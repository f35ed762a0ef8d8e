"""Storages for garbage-collection tests: memory, a directory, and a bucket on
moto's S3 server (a real HTTP endpoint). Each test opens its own drivers
over the storage, as separate replicas would: the registry app closes its
driver when it stops, the collection uses another."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from registry.app import make_app
from registry.config import GcPolicy, RegistryConfig
from registry.gc import Timing
from storage_backends.base import StorageDriver
from storage_backends.filesystem import FilesystemDriver
from storage_backends.memory import MemoryDriver
from tests.support.moto_server import S3Endpoint, moto_s3_server
from tests.support.registry_layout import age_directory, write_bucket, write_directory

# Collect everything written before the collection starts (tests age data
# by waiting for `settle`, not for an hour).
EAGER = Timing(grace=0, touch_age=0, commit_window=0, slack=0, lease=5, poll=0.02)


@pytest.fixture(scope="session")
def gc_s3() -> S3Endpoint:
    """One moto server for these tests (the shared `moto_s3` fixture moves
    to tests/conftest.py with the configuration rewrite; use it then)."""
    with moto_s3_server() as endpoint:
        yield endpoint


@dataclass
class Storage:
    kind: str
    open: Callable[[], StorageDriver]
    settle_seconds: float  # S3 times are whole seconds: wait for them to pass
    root: Path | None = None
    bucket: str | None = None

    @property
    def timing(self) -> Timing:
        return dataclasses.replace(EAGER, slack=1.0) if self.kind == "s3" else EAGER

    async def settle(self) -> None:
        await asyncio.sleep(self.settle_seconds)


def make_storage(kind: str, tmp_path: Path, endpoint: S3Endpoint | None) -> Storage:
    if kind == "memory":
        shared = MemoryDriver()
        return Storage(kind, lambda: shared, 0.01)
    if kind == "filesystem":
        root = tmp_path / "storage"
        return Storage(kind, lambda: FilesystemDriver(root), 0.02, root=root)
    from storage_backends.s3 import S3Driver
    bucket = endpoint.create_bucket(f"gc-{uuid.uuid4().hex[:12]}")
    return Storage(kind, lambda: S3Driver(bucket, endpoint.region, endpoint.url, endpoint.access_key,
                                          endpoint.secret_key, root_directory="/r"), 2.1, bucket=bucket)


@pytest.fixture(params=["memory", "filesystem", "s3"])
def storage(request, tmp_path) -> Storage:
    endpoint = request.getfixturevalue("gc_s3") if request.param == "s3" else None
    return make_storage(request.param, tmp_path, endpoint)


def gc_config(timing: Timing, **policy) -> RegistryConfig:
    """A registry whose writers keep `timing`'s side of the protocol (as every
    replica over a storage must share the collections' clock)."""
    return RegistryConfig(gc=GcPolicy(grace=timing.grace, touch_age=timing.touch_age,
                                      commit_window=timing.commit_window, lease=timing.lease, **policy))


def gc_yaml(timing: Timing, **policy) -> dict:
    """The same as `storage.maintenance.gc` keys, for a config file."""
    return {"grace": timing.grace, "touchage": timing.touch_age, "commitwindow": timing.commit_window,
            "lease": timing.lease, **policy}


async def put_manifest(client, name: str, ref: str, raw: bytes,
                       media_type: str = "application/vnd.oci.image.manifest.v1+json"):
    """A manifest PUT through the registry's API: (status, body)."""
    response = await client.put(f"/v2/{name}/manifests/{ref}", data=raw, headers={"Content-Type": media_type})
    return response.status, await response.text()


def refused_blob_unknown(status: int, body: str) -> bool:
    return status == 400 and "MANIFEST_BLOB_UNKNOWN" in body


@contextlib.asynccontextmanager
async def registry_client(storage: Storage, config: RegistryConfig | None = None) -> AsyncIterator[TestClient]:
    """The registry app over its own driver, served on 127.0.0.1."""
    client = TestClient(TestServer(make_app(config or RegistryConfig(), storage.open())))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def lay_out(storage: Storage, layout, endpoint: S3Endpoint | None) -> dict:
    """Write a registry_layout tree into the storage (on disk, aged two hours);
    returns what tests/registry/gc/gc_process.py needs to open it."""
    if storage.kind == "filesystem":
        write_directory(layout, storage.root)
        age_directory(storage.root, 7200)
        return {"kind": "filesystem", "root": str(storage.root)}
    await asyncio.to_thread(write_bucket, layout, endpoint.client(), storage.bucket, "r/")
    return {"kind": "s3", "bucket": storage.bucket, "url": endpoint.url, "region": endpoint.region,
            "access_key": endpoint.access_key, "secret_key": endpoint.secret_key, "root_directory": "/r"}


@contextlib.asynccontextmanager
async def opened(storage: Storage) -> AsyncIterator[StorageDriver]:
    driver = storage.open()
    try:
        yield driver
    finally:
        await driver.close()
