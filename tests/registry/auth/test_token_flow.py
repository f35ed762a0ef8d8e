"""The whole token flow over real HTTP: the registry's challenge, the
built-in issuer's GET and POST /token, and the tokens at work."""
import asyncio
import json
import re
import subprocess

import pytest

from registry.auth.jose import b64url_decode
from registry.auth.robots import RobotStore
from registry.auth.throttle import FailureThrottle
from storage_backends.memory import MemoryDriver
from tests.support.processes import require_binary

from .apps import ISSUER, SERVICE, basic, bearer, blob, token_registry

BLOB, DIGEST = blob(b"layer bytes for token auth")


@pytest.fixture
def driver():
    return MemoryDriver()


@pytest.fixture
async def setup(driver, tmp_path):
    return token_registry(driver, tmp_path)


@pytest.fixture
async def client(aiohttp_client, setup):
    return await aiohttp_client(setup.app)


def challenge(response) -> dict:
    header = response.headers["WWW-Authenticate"]
    assert header.startswith("Bearer ")
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


async def token_for(client, *scopes, creds=None, **query):
    params = [("service", SERVICE)] + [("scope", s) for s in scopes] + list(query.items())
    response = await client.get("/token", params=params, headers=creds or {})
    assert response.status == 200, await response.text()
    return await response.json()


def claims_of(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[1]))


async def test_the_challenge_names_exactly_the_scope_needed(client):
    response = await client.get("/v2/team-a/app/manifests/v1")
    assert response.status == 401
    realm = f"http://127.0.0.1:{client.port}/token"
    assert response.headers["WWW-Authenticate"] == \
        f'Bearer realm="{realm}",service="{SERVICE}",scope="repository:team-a/app:pull"'
    assert (await response.json())["errors"][0]["code"] == "UNAUTHORIZED"
    push = await client.post("/v2/team-a/app/blobs/uploads/?mount=" + DIGEST + "&from=public/base")
    assert challenge(push)["scope"] == "repository:team-a/app:pull,push repository:public/base:pull"
    assert "scope" not in challenge(await client.get("/v2/"))


async def test_docker_flow_push_then_pull_with_tokens(client):
    alice = basic("alice", "alice-pw")
    answer = await token_for(client, "repository:team-a/app:pull,push", creds=alice)
    assert answer["token"] == answer["access_token"]
    assert answer["expires_in"] == 300 and answer["issued_at"].endswith("Z")
    assert "refresh_token" not in answer
    claims = claims_of(answer["token"])
    assert claims["iss"] == ISSUER and claims["aud"] == SERVICE and claims["sub"] == "alice"
    assert claims["access"] == [{"type": "repository", "name": "team-a/app",
                                 "actions": ["pull", "push"]}]
    pushed = await client.post(f"/v2/team-a/app/blobs/uploads/?digest={DIGEST}", data=BLOB,
                               headers=bearer(answer["token"]))
    assert pushed.status == 201
    pull_only = (await token_for(client, "repository:team-a/app:pull", creds=alice))["token"]
    got = await client.get(f"/v2/team-a/app/blobs/{DIGEST}", headers=bearer(pull_only))
    assert got.status == 200 and await got.read() == BLOB
    refused = await client.post("/v2/team-a/app/blobs/uploads/", headers=bearer(pull_only))
    assert refused.status == 401
    assert challenge(refused) == {"realm": f"http://127.0.0.1:{client.port}/token",
                                  "service": SERVICE, "scope": "repository:team-a/app:pull,push",
                                  "error": "insufficient_scope"}


async def test_granted_scopes_are_the_intersection_of_asked_and_allowed(client):
    bob = basic("bob", "bob-pw")
    answer = await token_for(client, "repository:team-a/app:pull,push,delete",
                             "repository:team-b/app:pull", "repository:public/base:pull,push",
                             "registry:catalog:*", creds=bob)
    claims = claims_of(answer["token"])
    assert claims["access"] == [
        {"type": "repository", "name": "team-a/app", "actions": ["pull", "push"]},
        {"type": "repository", "name": "public/base", "actions": ["pull"]},
        {"type": "registry", "name": "catalog", "actions": ["*"]}]
    assert claims["pyreg_catalog"] == ["team-a/*", "public/*"]


async def test_anonymous_callers_get_what_anonymous_rules_allow(client, driver):
    admin = (await token_for(client, "repository:public/base:pull,push",
                             creds=basic("admin", "admin-pw")))["token"]
    assert (await client.post(f"/v2/public/base/blobs/uploads/?digest={DIGEST}", data=BLOB,
                              headers=bearer(admin))).status == 201
    anonymous = await token_for(client, "repository:public/base:pull", "repository:team-a/app:pull")
    assert "sub" not in claims_of(anonymous["token"])
    assert (await client.get(f"/v2/public/base/blobs/{DIGEST}",
                             headers=bearer(anonymous["token"]))).status == 200
    denied = await client.get(f"/v2/team-a/app/blobs/{DIGEST}", headers=bearer(anonymous["token"]))
    assert challenge(denied)["error"] == "insufficient_scope"


async def test_wrong_credentials_at_the_token_endpoint(client):
    for creds in (basic("alice", "wrong"), basic("nobody", "x"), {"Authorization": "Bearer x"}):
        response = await client.get("/token", params={"service": SERVICE}, headers=creds)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="pyreg token server"'
    mismatched = await client.get("/token", params={"service": SERVICE, "account": "bob"},
                                  headers=basic("alice", "alice-pw"))
    assert mismatched.status == 401
    assert (await client.get("/token", params={"service": "elsewhere"})).status == 400
    assert (await client.get("/token", params={"scope": "bogus"})).status == 400


async def test_forged_and_stale_tokens_are_401_invalid_token(client, setup):
    alice = basic("alice", "alice-pw")
    token = (await token_for(client, "repository:team-a/app:pull", creds=alice))["token"]
    head, body, signature = token.split(".")
    for forged in (f"{head}.{body}.{signature[:-4]}AAAA", f"{head}.{body}", "x" * 10000, "..."):
        response = await client.get("/v2/team-a/app/tags/list", headers=bearer(forged))
        assert response.status in (400, 401)
        if response.status == 401:
            assert challenge(response)["error"] == "invalid_token"
    setup.issuer.clock = lambda: 0.0      # an issuer whose tokens expired in 1970
    stale = (await token_for(client, "repository:team-a/app:pull", creds=alice))["token"]
    response = await client.get("/v2/team-a/app/tags/list", headers=bearer(stale))
    assert challenge(response)["error"] == "invalid_token"


async def test_oauth2_password_and_refresh_grants(client, setup, tmp_path):
    form = {"grant_type": "password", "username": "alice", "password": "alice-pw",
            "service": SERVICE, "client_id": "pyreg-test", "access_type": "offline",
            "scope": "repository:team-a/app:pull repository:team-a/other:push"}
    first = await client.post("/token", data=form)
    assert first.status == 200
    answer = await first.json()
    assert {"token", "access_token", "expires_in", "issued_at", "refresh_token"} <= set(answer)
    assert [a["name"] for a in claims_of(answer["access_token"])["access"]] == \
        ["team-a/app", "team-a/other"]
    refresh = answer["refresh_token"]
    assert claims_of(refresh)["aud"] != SERVICE     # never usable as an access token
    response = await client.get("/v2/", headers=bearer(refresh))
    assert challenge(response)["error"] == "invalid_token"
    renewed = await client.post("/token", data={"grant_type": "refresh_token",
                                                "refresh_token": refresh, "service": SERVICE,
                                                "scope": "repository:team-a/app:pull"})
    assert renewed.status == 200
    assert claims_of((await renewed.json())["token"])["sub"] == "alice"
    binary = require_binary("htpasswd", "apache2-utils")
    subprocess.run([binary, "-bB", "-C", "5", str(tmp_path / "htpasswd"), "alice", "changed"],
                   check=True, capture_output=True)
    stale = await client.post("/token", data={"grant_type": "refresh_token",
                                              "refresh_token": refresh})
    assert stale.status == 400 and (await stale.json())["error"] == "invalid_grant"
    wrong = await client.post("/token", data={**form, "password": "nope"})
    assert wrong.status == 400 and (await wrong.json())["error"] == "invalid_grant"
    odd = await client.post("/token", data={"grant_type": "authorization_code"})
    assert (await odd.json())["error"] == "unsupported_grant_type"
    big = await client.post("/token", data={"grant_type": "password", "pad": "x" * 70000})
    assert big.status == 413


async def test_a_robot_secret_works_at_token_until_revoked(client, driver):
    robots = RobotStore(driver, refresh=0)
    _, secret = await robots.create("ci-publisher", ["repository:team-a/*:pull,push"])
    creds = basic("ci-publisher", secret)
    answer = await token_for(client, "repository:team-a/app:pull,push", "repository:other:pull",
                             creds=creds, offline_token="true")
    claims = claims_of(answer["token"])
    assert claims["sub"] == "robot:ci-publisher"
    assert claims["access"] == [{"type": "repository", "name": "team-a/app",
                                 "actions": ["pull", "push"]}]
    assert (await client.post(f"/v2/team-a/app/blobs/uploads/?digest={DIGEST}", data=BLOB,
                              headers=bearer(answer["token"]))).status == 201
    await robots.revoke("ci-publisher")
    after = await client.get("/token", params={"service": SERVICE}, headers=creds)
    assert after.status == 401
    refreshed = await client.post("/token", data={"grant_type": "refresh_token",
                                                  "refresh_token": answer["refresh_token"]})
    assert refreshed.status == 400


async def test_a_burst_of_forged_tokens_from_one_address_gets_429(aiohttp_client, tmp_path):
    throttle = FailureThrottle(free=1, base=0.05, cap=0.05, max_wait=0.1)
    client = await aiohttp_client(token_registry(MemoryDriver(), tmp_path, throttle).app)
    burst = await asyncio.gather(*(client.get("/v2/", headers=bearer(f"a.b.c{n}"))
                                   for n in range(8)))
    statuses = [r.status for r in burst]
    assert 429 in statuses and set(statuses) <= {401, 429}


async def test_a_fixed_realm_is_named_as_configured(aiohttp_client, tmp_path):
    setup = token_registry(MemoryDriver(), tmp_path, realm="https://auth.example.test/token")
    client = await aiohttp_client(setup.app)
    response = await client.get("/v2/_catalog")
    assert challenge(response) == {"realm": "https://auth.example.test/token", "service": SERVICE,
                                   "scope": "registry:catalog:*"}
