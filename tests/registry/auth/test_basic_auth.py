"""Basic auth over the real registry app: htpasswd users (from Debian's
`htpasswd -B`) and robot secrets, with the challenge Distribution sends."""
import asyncio
import logging

import pytest

from registry.auth.robots import RobotStore
from registry.auth.throttle import FailureThrottle
from storage_backends.memory import MemoryDriver

from .apps import basic, basic_registry, blob, write_htpasswd

BLOB, DIGEST = blob(b"layer bytes for basic auth")


@pytest.fixture
def driver():
    return MemoryDriver()


@pytest.fixture
async def client(aiohttp_client, driver, tmp_path):
    return await aiohttp_client(basic_registry(driver, write_htpasswd(tmp_path / "htpasswd")))


def assert_challenge(response, body):
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="pyreg-test"'
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert body["errors"][0]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("method,path", [
    ("GET", "/v2/"), ("GET", "/v2/_catalog"), ("GET", "/v2/team-a/app/tags/list"),
    ("GET", f"/v2/team-a/app/blobs/{DIGEST}"), ("HEAD", "/v2/team-a/app/manifests/v1"),
    ("POST", "/v2/team-a/app/blobs/uploads/"), ("DELETE", "/v2/team-a/app/manifests/v1"),
    ("GET", "/v2/no/such/endpoint"),
])
async def test_no_endpoint_answers_anonymously(client, driver, method, path):
    response = await client.request(method, path)
    body = {"errors": [{"code": "UNAUTHORIZED"}]} if method == "HEAD" else await response.json()
    assert_challenge(response, body)
    assert not await driver.exists("docker/registry/v2/repositories")


async def test_wrong_credentials_are_refused_and_logged_without_the_secret(client, caplog):
    with caplog.at_level(logging.INFO, logger="pyreg.auth"):
        response = await client.get("/v2/", headers=basic("alice", "not-her-password"))
        assert_challenge(response, await response.json())
        response = await client.get("/v2/", headers={"Authorization": "Basic !!!not base64"})
        assert_challenge(response, await response.json())
    assert 'user="alice" addr=127.0.0.1' in caplog.text
    assert "not-her-password" not in caplog.text


async def test_users_push_and_pull_and_robots_stay_in_their_scopes(client, driver):
    alice = basic("alice", "alice-pw")
    assert (await client.get("/v2/", headers=alice)).status == 200
    pushed = await client.post(f"/v2/team-a/app/blobs/uploads/?digest={DIGEST}", data=BLOB,
                               headers=alice)
    assert pushed.status == 201
    robots = RobotStore(driver, refresh=0)
    _, secret = await robots.create("ci", ["repository:team-a/*:pull"])
    robot = basic("ci", secret)
    got = await client.get(f"/v2/team-a/app/blobs/{DIGEST}", headers=robot)
    assert got.status == 200 and await got.read() == BLOB
    refused = await client.post(f"/v2/team-a/app/blobs/uploads/?digest={DIGEST}", data=BLOB,
                                headers=robot)
    assert refused.status == 403
    body = await refused.json()
    assert body["errors"][0]["code"] == "DENIED"
    assert {d["Action"] for d in body["errors"][0]["detail"]} == {"pull", "push"}
    other = await client.get(f"/v2/other/app/blobs/{DIGEST}", headers=robot)
    assert other.status == 403
    assert (await client.get("/v2/_catalog", headers=robot)).status == 403
    await robots.revoke("ci")
    revoked = await client.get(f"/v2/team-a/app/blobs/{DIGEST}", headers=robot)
    assert revoked.status == 401


async def test_a_burst_of_guesses_from_one_address_gets_429(aiohttp_client, tmp_path):
    throttle = FailureThrottle(free=1, base=0.05, cap=0.05, max_wait=0.1)
    client = await aiohttp_client(basic_registry(MemoryDriver(), write_htpasswd(tmp_path / "h"),
                                                 throttle))
    assert (await client.get("/v2/", headers=basic("alice", "alice-pw"))).status == 200
    statuses = []
    for _ in range(3):
        statuses.append((await client.get("/v2/", headers=basic("alice", "guess"))).status)
    burst = await asyncio.gather(*(client.get("/v2/", headers=basic("alice", "guess"))
                                   for _ in range(6)))
    statuses += [r.status for r in burst]
    assert statuses[:3] == [401, 401, 401]
    assert 429 in statuses and set(statuses) <= {401, 429}
    limited = next(r for r in burst if r.status == 429)
    assert (await limited.json())["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert int(limited.headers["Retry-After"]) >= 1
    # alice, verified before the attack, is not held up on the attacker's address
    assert (await client.get("/v2/", headers=basic("alice", "alice-pw"))).status == 200


async def test_healthz_answers_without_credentials_while_the_api_asks_for_them(client):
    assert (await client.get("/v2/")).status == 401
    healthz = await client.get("/healthz")
    assert (healthz.status, await healthz.text()) == (200, "ok\n")
