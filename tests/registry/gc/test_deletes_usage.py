"""Deletes and usage through the registry's API, served on 127.0.0.1: a
whole repository deleted (not the one nested in it), then collected; tag
deletes; the usage endpoints counting a shared layer once; and what access
control asks of each."""
from __future__ import annotations

import os
import re

from aiohttp.test_utils import TestClient, TestServer

from registry.app import make_app
from registry.config import RegistryConfig
from registry.gc import collect
from storage_backends.memory import MemoryDriver
from tests.registry.auth.apps import SERVICE, basic, bearer, token_registry
from tests.registry.seed import image_manifest, push_blob, push_manifest, sha256

from .checks import assert_consistent, pull
from .conftest import EAGER, opened, registry_client

CONFIG = b'{"architecture":"amd64","os":"linux"}'


async def push_image(client, name: str, tag: str, *layers: bytes) -> bytes:
    for blob in (CONFIG, *layers):
        await push_blob(client, name, blob)
    raw = image_manifest(CONFIG, list(layers))
    await push_manifest(client, name, tag, raw)
    return raw


async def test_a_deleted_repository_is_gone_its_nested_one_stays_and_gc_frees_only_its_own(storage):
    shared, own, nested_own = os.urandom(3000), os.urandom(2000), os.urandom(1000)
    async with registry_client(storage) as client:
        await push_image(client, "team", "v1", shared, own)
        await push_image(client, "team", "v2", shared)
        await push_image(client, "team/app", "latest", shared, nested_own)
        await client.post("/v2/team/blobs/uploads/")
        response = await client.delete("/v2/_repositories/team")
        assert response.status == 202 and await response.json() == {"name": "team", "tags": 2, "manifests": 2}
        assert (await client.get("/v2/team/tags/list")).status == 404
        assert (await client.get("/v2/team/manifests/v1")).status == 404
        assert (await (await client.get("/v2/_catalog")).json())["repositories"] == ["team/app"]
        again = await client.delete("/v2/_repositories/team")
        assert again.status == 404 and "NAME_UNKNOWN" in await again.text()
        await storage.settle()
        async with opened(storage) as driver:
            report = await collect(driver, timing=storage.timing)
            await assert_consistent(driver)
        freed = {item.name for item in report.removed if item.kind == "blob"}
        assert sha256(own) in freed and sha256(shared) not in freed and sha256(nested_own) not in freed
        await pull(client, "team/app", "latest")


async def test_deletes_disabled_refuse_repository_and_tag_deletes_and_keep_everything():
    async with TestClient(TestServer(make_app(RegistryConfig(delete_enabled=False), MemoryDriver()))) as client:
        await push_image(client, "app", "v1", os.urandom(100))
        repository = await client.delete("/v2/_repositories/app")
        assert repository.status == 405 and "UNSUPPORTED" in await repository.text()
        tag = await client.delete("/v2/app/manifests/v1")
        assert tag.status == 400 and "UNSUPPORTED" in await tag.text()
        await pull(client, "app", "v1")


async def test_a_tag_delete_keeps_the_manifest_and_its_other_tags(storage):
    async with registry_client(storage) as client:
        raw = await push_image(client, "app", "v1", os.urandom(500))
        await push_manifest(client, "app", "stable", raw)
        assert (await client.delete("/v2/app/manifests/v1")).status == 202
        assert (await (await client.get("/v2/app/tags/list")).json())["tags"] == ["stable"]
        await pull(client, "app", sha256(raw))
        await pull(client, "app", "stable")


async def test_usage_endpoints_count_a_shared_layer_once(storage):
    shared, own_a, own_b = os.urandom(3000), os.urandom(2000), os.urandom(1000)
    async with registry_client(storage) as client:
        manifest_a = await push_image(client, "a", "v1", shared, own_a)
        manifest_b = await push_image(client, "team/b", "v1", shared, own_b)
        usage = await (await client.get("/v2/_usage")).json()
        one = await client.get("/v2/team/b/_usage")
        row = await one.json()
        unknown = await client.get("/v2/nobody/_usage")
        assert unknown.status == 404 and "NAME_UNKNOWN" in await unknown.text()
    common = len(CONFIG) + len(shared)
    assert [row["name"] for row in usage["repositories"]] == ["a", "team/b"]
    assert usage["total"]["bytes"] == common + len(own_a) + len(own_b) + len(manifest_a) + len(manifest_b)
    assert sum(row["bytes"] for row in usage["repositories"]) == usage["total"]["bytes"] + common
    assert one.status == 200 and row["name"] == "team/b" and row["exclusiveBytes"] == len(own_b) + len(manifest_b)


def challenged_scope(response) -> str:
    return dict(re.findall(r'(\w+)="([^"]*)"', response.headers["WWW-Authenticate"]))["scope"]


async def token(client, scope: str, user: str, password: str) -> dict:
    response = await client.get("/token", params={"service": SERVICE, "scope": scope},
                                headers=basic(user, password))
    assert response.status == 200, await response.text()
    return bearer((await response.json())["token"])


async def test_access_control_asks_the_catalog_scope_pull_and_delete(aiohttp_client, tmp_path):
    setup = token_registry(MemoryDriver(), tmp_path)
    client = await aiohttp_client(setup.app)
    admin = await token(client, "repository:team-a/app:pull,push,delete", "admin", "admin-pw")
    await push_image(_Authorized(client, admin), "team-a/app", "v1", os.urandom(300))
    anonymous = {"/v2/_usage": "registry:catalog:*", "/v2/team-a/app/_usage": "repository:team-a/app:pull"}
    for path, scope in anonymous.items():
        response = await client.get(path)
        assert response.status == 401 and challenged_scope(response) == scope
    refused = await client.delete("/v2/_repositories/team-a/app")
    assert refused.status == 401 and challenged_scope(refused) == "repository:team-a/app:delete"
    alice = await token(client, "repository:team-a/app:pull,push,delete", "alice", "alice-pw")
    assert (await client.delete("/v2/_repositories/team-a/app", headers=alice)).status in (401, 403)
    reader = await token(client, "registry:catalog:*", "alice", "alice-pw")
    assert (await client.get("/v2/_usage", headers=reader)).status == 200
    assert (await client.get("/v2/team-a/app/_usage", headers=alice)).status == 200
    assert (await client.delete("/v2/_repositories/team-a/app", headers=admin)).status == 202


class _Authorized:
    """A client that sends one token with every request."""

    def __init__(self, client, headers: dict):
        self.client, self.headers = client, headers

    def post(self, path, **kwargs):
        return self.client.post(path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def put(self, path, **kwargs):
        return self.client.put(path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)
