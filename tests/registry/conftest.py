"""Fixtures: the real registry app on memory and filesystem storage, served
by aiohttp's test server, with the seed state pushed over HTTP."""
from __future__ import annotations

import pytest

from registry.app import make_app
from registry.config import RegistryConfig
from storage_backends.filesystem import FilesystemDriver
from storage_backends.memory import MemoryDriver

from .api_table import all_keys
from .seed import seed_registry


@pytest.fixture(params=["memory", "filesystem"])
def driver(request, tmp_path):
    if request.param == "memory":
        return MemoryDriver()
    return FilesystemDriver(tmp_path / "storage")


@pytest.fixture
def snapshot(driver):
    """A coroutine function returning every stored key (walked via the driver)."""
    return lambda: all_keys(driver)


@pytest.fixture
def registry_config():
    return RegistryConfig()


@pytest.fixture
async def client(aiohttp_client, driver, registry_config):
    return await aiohttp_client(make_app(registry_config, driver))


@pytest.fixture
async def seed(client):
    return await seed_registry(client)
