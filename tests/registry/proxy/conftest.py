"""A proxy registry app (real aiohttp test server, filesystem storage) in
front of the test upstream (upstream_app.py, another real server)."""
from __future__ import annotations

import pytest

from registry.app import make_app
from registry.config import config_from_dict
from storage_backends.filesystem import FilesystemDriver

from .upstream_app import Upstream, make_upstream_app, random_image


@pytest.fixture
def upstream_state():
    state = Upstream()
    state.add(random_image())
    return state


@pytest.fixture
async def upstream_url(aiohttp_server, upstream_state):
    server = await aiohttp_server(make_upstream_app(upstream_state))
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
def proxy_settings(upstream_url, request):
    """The `proxy` section; tests add keys (a ttl, credentials) by indirect parametrization."""
    return {"remoteurl": upstream_url, **getattr(request, "param", {})}


@pytest.fixture
def storage(tmp_path):
    return FilesystemDriver(tmp_path / "proxy")


@pytest.fixture
async def proxy(aiohttp_client, proxy_settings, storage):
    config = config_from_dict({"proxy": proxy_settings}, environ={})
    return await aiohttp_client(make_app(config, storage))
