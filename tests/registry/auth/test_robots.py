"""Robot credentials in real storage (filesystem, memory, and a directory
Distribution 2.8.2 serves), and the account checks Basic and /token share."""
import asyncio
import json
import logging
import subprocess
import urllib.request

import pytest

from registry.auth.accounts import Accounts, AuthenticationFailed, Throttled
from registry.auth.htpasswd import HtpasswdFile
from registry import paths
from registry.auth.robots import SECRET_PREFIX, RobotError, RobotStore, parse_lifetime
from registry.auth.scopes import repository
from registry.auth.throttle import FailureThrottle
from storage_backends.filesystem import FilesystemDriver
from storage_backends.memory import MemoryDriver
from tests.registry.oci_image import build_layout
from tests.registry.skopeo import Skopeo
from tests.support.processes import distribution_registry, require_binary


@pytest.fixture(params=["memory", "filesystem"])
def driver(request, tmp_path):
    return MemoryDriver() if request.param == "memory" else FilesystemDriver(tmp_path / "storage")


async def test_create_list_verify_revoke(driver):
    robots = RobotStore(driver, refresh=0)
    robot, secret = await robots.create("ci-publisher", ["repository:team/*:pull,push"], 30 * 86400)
    assert secret.startswith(SECRET_PREFIX) and len(secret) > 40
    stored = await driver.get_content(paths.robot("ci-publisher"))
    assert secret.encode() not in stored                      # only its hash is kept
    assert json.loads(stored)["scopes"] == ["repository:team/*:pull,push"]
    assert [r.name for r in await robots.list()] == ["ci-publisher"]
    found = await robots.verify("ci-publisher", secret)
    assert found is not None and found.subject == "robot:ci-publisher"
    grant = found.grant()
    assert grant.allows(repository("team/app", "pull", "push"))
    assert not grant.allows(repository("team/app", "delete")) and not grant.may_pull("other")
    assert await robots.verify("ci-publisher", secret[:-1] + "x") is None
    assert await robots.verify("other", secret) is None
    with pytest.raises(RobotError, match="exists"):
        await robots.create("ci-publisher", ["repository:x:pull"])
    await robots.revoke("ci-publisher")
    assert await robots.verify("ci-publisher", secret) is None
    assert await robots.list() == []
    with pytest.raises(RobotError, match="no robot named"):
        await robots.revoke("ci-publisher")


async def test_every_replica_sees_a_revocation_within_its_refresh(tmp_path):
    one = RobotStore(FilesystemDriver(tmp_path / "s"), refresh=0)
    two = RobotStore(FilesystemDriver(tmp_path / "s"), refresh=3600)
    _, secret = await one.create("ci", ["repository:app:pull"])
    assert await two.verify("ci", secret) is not None
    await one.revoke("ci")
    assert await two.verify("ci", secret) is not None     # cached for its refresh time
    two.refresh = 0
    assert await two.verify("ci", secret) is None


async def test_an_expired_robot_opens_nothing(driver):
    robots = RobotStore(driver, refresh=0)
    robot, secret = await robots.create("old", ["repository:app:pull"], 1)
    record = json.loads(await driver.get_content(paths.robot("old")))
    record["expires"] = record["created"] - 1
    await driver.put_content(paths.robot("old"), json.dumps(record).encode())
    assert await robots.verify("old", secret) is None


@pytest.mark.parametrize("name,scopes,message", [
    ("Bad Name", ["repository:a:pull"], "invalid robot name"),
    ("../escape", ["repository:a:pull"], "invalid robot name"),
    ("ci", [], "at least one scope"),
    ("ci", ["repository:a:fly"], "actions are"),
    ("ci", ["registry:other:*"], "want repository"),
    ("ci", ["repository:a b:pull"], "want repository"),
])
async def test_bad_robots_are_refused(name, scopes, message):
    with pytest.raises(RobotError, match=message):
        await RobotStore(MemoryDriver()).create(name, scopes)


def test_lifetimes():
    assert parse_lifetime("30d") == 30 * 86400 and parse_lifetime("2w") == 14 * 86400
    for bad in ("30", "d", "1y", "-1d"):
        with pytest.raises(RobotError):
            parse_lifetime(bad)


async def test_a_corrupt_record_grants_nothing(caplog):
    driver = MemoryDriver()
    await driver.put_content(paths.robot("broken"), b"{not json")
    with caplog.at_level(logging.WARNING, logger="pyreg.auth"):
        assert await RobotStore(driver).get("broken") is None
    assert "unreadable" in caplog.text


def test_distribution_serves_and_collects_garbage_beside_robot_records(tmp_path):
    skopeo = Skopeo(tmp_path)
    build_layout(tmp_path / "image")
    root = tmp_path / "dist"
    with distribution_registry(root) as url:
        skopeo.push(tmp_path / "image", "v1", url, "team/app")
        robots = RobotStore(FilesystemDriver(root))
        _, secret = asyncio.run(robots.create("ci", ["repository:team/*:pull"]))
        catalog = json.load(urllib.request.urlopen(f"{url}/v2/_catalog"))
        assert catalog == {"repositories": ["team/app"]}
        config = next(tmp_path.glob("distribution-*.yml"))
        binary = require_binary("docker-registry", "docker-registry")
        collected = subprocess.run([binary, "garbage-collect", str(config)], capture_output=True,
                                   text=True)
        assert collected.returncode == 0, collected.stderr
        assert skopeo.raw_manifest(url, "team/app:v1")
    assert (root / paths.ROBOTS / "ci").exists()
    assert asyncio.run(RobotStore(FilesystemDriver(root)).verify("ci", secret)) is not None


@pytest.fixture
def htpasswd_file(tmp_path):
    binary = require_binary("htpasswd", "apache2-utils")
    path = tmp_path / "htpasswd"
    subprocess.run([binary, "-cbB", "-C", "5", str(path), "alice", "alice-pw"], check=True,
                   capture_output=True)
    return path


async def test_accounts_check_users_and_robots_and_log_failures(htpasswd_file, caplog):
    robots = RobotStore(MemoryDriver(), refresh=0)
    _, secret = await robots.create("ci", ["repository:team/*:pull"])
    accounts = Accounts(HtpasswdFile(str(htpasswd_file)), robots)
    alice = await accounts.authenticate("alice", "alice-pw", "192.0.2.1")
    assert alice.subject == "alice" and alice.robot is None
    assert alice.basic_grant().allows(repository("anything", "delete"))   # as Distribution
    assert await accounts.authenticate("alice", "alice-pw", "192.0.2.1") is alice  # remembered
    robot = await accounts.authenticate("ci", secret, "192.0.2.1")
    assert robot.subject == "robot:ci" and not robot.basic_grant().may_pull("other")
    with caplog.at_level(logging.INFO, logger="pyreg.auth"):
        for user, password in (("alice", "wrong-pw"), ("ci", secret + "x"), ("nobody", "pw")):
            with pytest.raises(AuthenticationFailed):
                await accounts.authenticate(user, password, "192.0.2.9",
                                            [repository("team/app", "pull", "push")])
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert all("addr=192.0.2.9" in line and 'scope="repository:team/app:pull,push"' in line
               and "reason=" in line for line in lines)
    assert 'user="alice"' in lines[0] and 'user="ci"' in lines[1]
    assert not any("wrong-pw" in line or secret in line for line in caplog.text.splitlines())


async def test_a_changed_password_is_not_remembered(htpasswd_file):
    accounts = Accounts(HtpasswdFile(str(htpasswd_file)), None)
    await accounts.authenticate("alice", "alice-pw", "192.0.2.1")
    binary = require_binary("htpasswd", "apache2-utils")
    subprocess.run([binary, "-bB", "-C", "5", str(htpasswd_file), "alice", "new-pw"], check=True,
                   capture_output=True)
    with pytest.raises(AuthenticationFailed):
        await accounts.authenticate("alice", "alice-pw", "192.0.2.1")
    assert (await accounts.authenticate("alice", "new-pw", "192.0.2.1")).subject == "alice"


async def test_repeated_failures_are_slowed_then_refused_per_address(htpasswd_file):
    throttle = FailureThrottle(free=2, base=0.01, cap=0.02, max_wait=0.03)
    accounts = Accounts(HtpasswdFile(str(htpasswd_file)), None, throttle)
    outcomes = []
    for _ in range(6):
        try:
            await accounts.authenticate("alice", "guess", "192.0.2.66")
        except AuthenticationFailed:
            outcomes.append("wrong")
        except Throttled:
            outcomes.append("throttled")
    assert outcomes[:2] == ["wrong", "wrong"] and "throttled" not in outcomes[:3]
    assert throttle.delay("192.0.2.66") > 0
    burst = await asyncio.gather(*(accounts.authenticate("alice", "guess", "192.0.2.66")
                                   for _ in range(5)), return_exceptions=True)
    assert sum(isinstance(outcome, Throttled) for outcome in burst) >= 3  # 429s, not a queue
    # alice herself, from another address, is not slowed at all
    assert throttle.reserve("198.51.100.1") == 0
    assert (await accounts.authenticate("alice", "alice-pw", "198.51.100.1")).subject == "alice"
