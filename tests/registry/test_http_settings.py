"""The `http.*` and read-only settings on a real app: read-only mode, extra
headers, a path prefix, and how Location and Link URLs are written."""
from __future__ import annotations

import dataclasses

import pytest

from registry.app import make_app
from registry.config import HttpSettings, RegistryConfig

from .api_table import Row, run_row
from .seed import push_blob, seed_registry

U = "/v2/seed/repo/blobs/uploads"


@pytest.fixture
async def seeded(aiohttp_client, driver):
    """The seed pushed through an ordinary app; tests then serve the same storage."""
    return await seed_registry(await aiohttp_client(make_app(RegistryConfig(), driver)))


async def app_client(aiohttp_client, driver, **settings):
    http = {key: settings.pop(key) for key in list(settings) if key in HttpSettings.__dataclass_fields__}
    config = RegistryConfig(http=HttpSettings(**http), **settings)
    return await aiohttp_client(make_app(config, driver))


READ_ONLY = [Row(f"read-only-{label}", method, path, 405, "UNSUPPORTED", body=body)
             for label, method, path, body in [
                 ("upload-start", "POST", "/v2/seed/repo/blobs/uploads/", b""),
                 ("monolithic", "POST", "/v2/seed/repo/blobs/uploads/?digest={missing}", b"missing"),
                 ("mount", "POST", "/v2/seed/repo/blobs/uploads/?mount={other_blob}&from=other", b""),
                 ("patch", "PATCH", U + "/{upload}", b"abc"),
                 ("finish", "PUT", U + "/{upload}?digest={upload_digest}", b""),
                 ("cancel", "DELETE", U + "/{upload}", b""),
                 ("manifest-put", "PUT", "/v2/seed/repo/manifests/new", "{manifest_raw}"),
                 ("manifest-delete", "DELETE", "/v2/seed/repo/manifests/{manifest}", b""),
                 ("tag-delete", "DELETE", "/v2/seed/repo/manifests/v1", b""),
                 ("blob-delete", "DELETE", "/v2/seed/repo/blobs/{layer}", b"")]]
READ_ONLY += [Row(f"read-only-serves-{label}", "GET", path, 200) for label, path in [
    ("manifest", "/v2/seed/repo/manifests/v1"), ("blob", "/v2/seed/repo/blobs/{layer}"),
    ("tags", "/v2/seed/repo/tags/list"), ("catalog", "/v2/_catalog"),
    ("referrers", "/v2/seed/repo/referrers/{manifest}")]]
READ_ONLY.append(Row("read-only-status", "GET", U + "/{upload}", 204))


@pytest.mark.parametrize("row", READ_ONLY, ids=str)
async def test_read_only_refuses_writes_and_serves_reads(row, aiohttp_client, driver, seeded, snapshot):
    client = await app_client(aiohttp_client, driver, read_only=True)
    before = await snapshot()
    await run_row(row, client, snapshot, seeded)
    assert await snapshot() == before


async def test_extra_headers_on_every_response(aiohttp_client, driver, seeded):
    headers = (("X-Content-Type-Options", "nosniff"), ("X-Many", "one"), ("X-Many", "two"))
    client = await app_client(aiohttp_client, driver, headers=headers)
    for path in ("/v2/", "/v2/seed/repo/manifests/v1", "/v2/seed/repo/blobs/{layer}",
                 "/v2/seed/repo/blobs/{config}", "/v2/seed/repo/manifests/nope", "/v3/elsewhere"):
        response = await client.get(path.format(**seeded))
        await response.read()
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers.getall("X-Many") == ["one", "two"], path


async def test_prefix_serves_the_api_under_it(aiohttp_client, driver, seeded):
    client = await app_client(aiohttp_client, driver, prefix="/my/nested")
    assert (await client.get("/my/nested/v2/")).status == 200
    outside = await client.get("/v2/")
    assert outside.status == 404 and (await outside.json())["errors"][0]["code"] == "UNSUPPORTED"
    start = await client.post("/my/nested/v2/team/app/blobs/uploads/")
    assert start.status == 202 and start.headers["Location"].startswith("/my/nested/v2/team/app/blobs/uploads/")
    finish = await client.put(start.headers["Location"] + "?digest=sha256:" + "ba7816bf8f01cfea414140de5dae2223"
                              "b00361a396177a9cb410ff61f20015ad", data=b"abc")
    assert finish.status == 201 and finish.headers["Location"].startswith("/my/nested/v2/team/app/blobs/")
    assert await (await client.get(finish.headers["Location"])).read() == b"abc"
    page = await client.get("/my/nested/v2/_catalog?n=1")
    assert page.headers["Link"] == '</my/nested/v2/_catalog?n=1&last=other>; rel="next"'


@pytest.mark.parametrize("settings, expected", [
    ({}, "/v2/team/app/blobs/"),
    ({"host": "https://registry.example.com:5000"}, "https://registry.example.com:5000/v2/team/app/blobs/"),
    ({"host": "https://registry.example.com", "relative_urls": True}, "/v2/team/app/blobs/"),
    ({"host": "https://registry.example.com", "prefix": "/r"}, "https://registry.example.com/r/v2/team/app/blobs/"),
    ({"relative_urls": False}, "http://{server}/v2/team/app/blobs/"),
], ids=["default-relative", "host", "relative-wins", "host-and-prefix", "from-request"])
async def test_location_urls(aiohttp_client, driver, settings, expected):
    client = await app_client(aiohttp_client, driver, **settings)
    prefix = settings.get("prefix", "")
    response = await client.post(f"{prefix}/v2/team/app/blobs/uploads/?digest=sha256:ba7816bf8f01cfea414140de5dae"
                                 "2223b00361a396177a9cb410ff61f20015ad", data=b"abc")
    server = f"{client.server.host}:{client.server.port}"
    assert response.status == 201
    assert response.headers["Location"].startswith(expected.format(server=server))


async def test_location_from_forwarded_headers(aiohttp_client, driver):
    client = await app_client(aiohttp_client, driver, relative_urls=False)
    response = await client.post("/v2/team/app/blobs/uploads/", headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "registry.example.com, proxy.internal"})
    assert response.headers["Location"].startswith("https://registry.example.com/v2/team/app/blobs/uploads/")


async def test_automatic_mount_can_be_turned_off(aiohttp_client, driver, seeded):
    client = await app_client(aiohttp_client, driver, automatic_mount=False)
    response = await client.post("/v2/new/repo/blobs/uploads/?mount={other_blob}".format(**seeded))
    assert response.status == 202
    assert (await client.head("/v2/new/repo/blobs/{other_blob}".format(**seeded))).status == 404
    await push_blob(client, "new/repo", b"still writable")


def test_config_dataclasses_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RegistryConfig().read_only = True  # type: ignore[misc]


async def test_read_only_referrers_come_from_a_scan_that_writes_nothing(aiohttp_client, driver, seeded):
    path = "/v2/seed/repo/referrers/{manifest}".format(**seeded)
    scanned = await (await (await app_client(aiohttp_client, driver, read_only=True)).get(path)).json()
    indexed = await (await (await app_client(aiohttp_client, driver)).get(path)).json()
    assert scanned == indexed and [m["digest"] for m in scanned["manifests"]] == [seeded["referrer"]]
