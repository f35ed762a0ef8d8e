"""A user with pull on one repository cannot read a blob of another: not by
a direct GET, a cross-repository mount (with or without `from`), the
catalog, or another user's upload id. The registry is the one `make_app`
builds from a config with `auth.token` and the built-in issuer."""
from __future__ import annotations

import uuid

import pytest

from ocispec import mediatypes as mt
from registry.app import make_app
from registry.config import config_from_dict
from storage_backends.memory import MemoryDriver
from tests.registry.seed import image_manifest, sha256

from .apps import ISSUER, SERVICE, basic, bearer, blob, write_htpasswd

SECRET, SECRET_DIGEST = blob(b"alice's private layer")
OTHER, OTHER_DIGEST = blob(b"another layer, absent unless a test pushes it")
CONFIG = b'{"architecture":"amd64","os":"linux"}'
RULES = """
rules:
  - {repositories: ["team-a/*", "shared/*"], users: [alice], actions: [pull, push]}
  - {repositories: ["team-b/*", "shared/*"], users: [bob], actions: [pull, push]}
  - {catalog: true, users: ["*"]}
"""


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    (tmp_path / "rules.yml").write_text(RULES)
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {"alice": "alice-pw", "bob": "bob-pw"})
    config = config_from_dict({
        "auth": {"token": {"realm": "http://unused/token", "service": SERVICE, "issuer": ISSUER,
                           "autoredirect": True, "autoredirectpath": "/token"}},
        "pyreg": {"tokenserver": {"keydir": str(tmp_path / "keys"), "htpasswd": str(htpasswd),
                                  "rules": str(tmp_path / "rules.yml")}}}, environ={})
    return await aiohttp_client(make_app(config, MemoryDriver()))


async def token(client, user: str, *scopes: str) -> dict[str, str]:
    params = [("service", SERVICE)] + [("scope", s) for s in scopes]
    response = await client.get("/token", params=params, headers=basic(user, f"{user}-pw"))
    assert response.status == 200
    return bearer((await response.json())["token"])


async def push_image(client, name: str, layer: bytes, headers: dict[str, str]) -> None:
    """A config, `layer` and a manifest tagged v1: a repository the catalog lists."""
    for data in (CONFIG, layer):
        response = await client.post(f"/v2/{name}/blobs/uploads/?digest={sha256(data)}",
                                     data=data, headers=headers)
        assert response.status == 201
    response = await client.put(f"/v2/{name}/manifests/v1", data=image_manifest(CONFIG, [layer]),
                                headers={**headers, "Content-Type": mt.OCI_MANIFEST})
    assert response.status == 201


@pytest.fixture
async def pushed(client):
    alice = await token(client, "alice", "repository:team-a/secret:pull,push")
    await push_image(client, "team-a/secret", SECRET, alice)


async def test_a_direct_get_needs_pull_on_that_repository(client, pushed):
    bob = await token(client, "bob", "repository:team-a/secret:pull", "repository:team-b/app:pull")
    for method in ("GET", "HEAD"):
        response = await client.request(method, f"/v2/team-a/secret/blobs/{SECRET_DIGEST}",
                                        headers=bob)
        assert response.status == 401
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert (await client.get(f"/v2/team-b/app/blobs/{SECRET_DIGEST}", headers=bob)).status == 404


async def mount(client, headers, digest: str, source: str | None):
    query = f"mount={digest}" + (f"&from={source}" if source else "")
    return await client.post(f"/v2/team-b/app/blobs/uploads/?{query}", headers=headers)


@pytest.mark.parametrize("source", ["team-a/secret", None], ids=["from", "automatic"])
async def test_a_mount_without_pull_on_the_source_is_an_ordinary_upload(client, pushed, source):
    bob = await token(client, "bob", "repository:team-b/app:pull,push",
                      "repository:team-a/secret:pull")
    held, absent = await mount(client, bob, SECRET_DIGEST, source), \
        await mount(client, bob, OTHER_DIGEST, source)
    assert held.status == absent.status == 202        # the same answer as for no such blob
    assert set(held.headers) == set(absent.headers)
    assert (await client.get(f"/v2/team-b/app/blobs/{SECRET_DIGEST}", headers=bob)).status == 404
    alice = await token(client, "alice", "repository:team-a/app:pull,push",
                        "repository:team-a/secret:pull")
    mounted = await client.post(f"/v2/team-a/app/blobs/uploads/?mount={SECRET_DIGEST}"
                                + ("&from=team-a/secret" if source else ""), headers=alice)
    assert mounted.status == 201                       # the owner's mount still works


async def test_the_catalog_lists_only_what_the_caller_may_pull(client, pushed):
    await push_image(client, "team-b/app", OTHER,
                     await token(client, "bob", "repository:team-b/app:pull,push"))
    for user, expected in (("bob", ["team-b/app"]), ("alice", ["team-a/secret"])):
        response = await client.get("/v2/_catalog", headers=await token(client, user,
                                                                         "registry:catalog:*"))
        assert response.status == 200
        assert (await response.json())["repositories"] == expected
    paged = await client.get("/v2/_catalog?n=1", headers=await token(client, "bob",
                                                                       "registry:catalog:*"))
    assert (await paged.json())["repositories"] == ["team-b/app"] and "Link" not in paged.headers


async def test_an_upload_id_belongs_to_who_started_it(client):
    scope = "repository:shared/app:pull,push"
    alice, bob = await token(client, "alice", scope), await token(client, "bob", scope)
    started = await client.post("/v2/shared/app/blobs/uploads/", headers=alice)
    assert started.status == 202
    location = started.headers["Location"]
    unknown = f"/v2/shared/app/blobs/uploads/{uuid.uuid4()}"
    for method, path_query, body in (("GET", "", None), ("PATCH", "", OTHER),
                                     ("PUT", f"?digest={OTHER_DIGEST}", None), ("DELETE", "", None)):
        theirs = await client.request(method, location + path_query, data=body, headers=bob)
        nobodys = await client.request(method, unknown + path_query, data=body, headers=bob)
        assert theirs.status == nobodys.status == 404, method
        assert (await theirs.json())["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"
    patched = await client.patch(location, data=SECRET, headers=alice)
    assert patched.status == 202
    finished = await client.put(f"{patched.headers['Location']}?digest={SECRET_DIGEST}",
                                headers=alice)
    assert finished.status == 201
