"""Upload purging: abandoned sessions older than the configured age go away."""
from __future__ import annotations

import time

import pytest

from registry import paths
from registry.config import ConfigError, PurgePolicy, as_duration, config_from_dict
from registry.maintenance import parse_started_at, purge_uploads
from registry.store import RegistryStore
from storage_backends.filesystem import FilesystemDriver
from storage_backends.memory import MemoryDriver
from tests.storage_backends.test_s3_specifics import count_calls, make_driver

DAY = 24 * 3600


@pytest.fixture(params=["memory", "filesystem", "s3"])
def store(request, tmp_path):
    if request.param == "s3":
        moto_s3 = request.getfixturevalue("moto_s3")
        return RegistryStore(make_driver(moto_s3, moto_s3.create_bucket()))
    driver = MemoryDriver() if request.param == "memory" else FilesystemDriver(tmp_path)
    return RegistryStore(driver)


async def _age(store: RegistryStore, name: str, upload_id: str, days: float) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.123456789Z", time.gmtime(time.time() - days * DAY))
    await store.driver.put_content(paths.upload_started_at(name, upload_id), stamp.encode())


async def test_only_old_sessions_are_purged(store):
    old = await store.uploads.start("team/app")
    fresh = await store.uploads.start("team/app")
    elsewhere = await store.uploads.start("other")
    await _age(store, "team/app", old, 8)
    await _age(store, "other", elsewhere, 30)
    purged = await purge_uploads(store, PurgePolicy())
    assert sorted(purged) == sorted([f"team/app/{old}", f"other/{elsewhere}"])
    assert await store.uploads.offset("team/app", fresh) == 0
    for name, upload_id in (("team/app", old), ("other", elsewhere)):
        with pytest.raises(Exception, match="BLOB_UPLOAD_UNKNOWN"):
            await store.uploads.offset(name, upload_id)


async def test_dry_run_only_reports(store):
    old = await store.uploads.start("team/app")
    await _age(store, "team/app", old, 8)
    assert await purge_uploads(store, PurgePolicy(dry_run=True)) == [f"team/app/{old}"]
    assert await store.uploads.offset("team/app", old) == 0


async def test_on_s3_a_pass_lists_the_repositories_flat(moto_s3):
    """One ListObjectsV2 per thousand keys, not one per directory: a walk
    per directory made every replica start cost a request per repository."""
    store = RegistryStore(make_driver(moto_s3, moto_s3.create_bucket()))
    for number in range(40):
        await store.driver.put_content(f"{paths.repository(f'team/app{number}')}/_layers/x/link", b"x")
    nested = await store.uploads.start("team/app7/sub")
    await _age(store, "team/app7/sub", nested, 8)
    calls = count_calls(store.driver)
    assert await purge_uploads(store, PurgePolicy(dry_run=True)) == [f"team/app7/sub/{nested}"]
    assert calls["ListObjectsV2"] == 1  # a dry run: a removal would list the session's directory too
    assert await purge_uploads(store, PurgePolicy()) == [f"team/app7/sub/{nested}"]
    assert await purge_uploads(store, PurgePolicy()) == []


def test_upload_session_keys():
    assert paths.upload_session_of(paths.upload_data("a/b", "u1")) == ("a/b", "u1")
    assert paths.upload_session_of(f"{paths.upload_dir('a', 'u2')}/hashstates/sha256/0") == ("a", "u2")
    assert paths.upload_session_of(f"{paths.repository('a')}/_layers/x/link") is None
    assert paths.upload_session_of(f"{paths.BLOBS}/sha256/ab/abcd/data") is None


def test_started_at_formats():
    assert parse_started_at("1970-01-02T00:00:00Z") == DAY
    assert parse_started_at("1970-01-02T00:00:00.999999999Z") == DAY  # Distribution's nanoseconds
    assert parse_started_at("garbage") is None


def test_purge_configuration():
    config = config_from_dict({"storage": {"maintenance": {"uploadpurging": {
        "enabled": True, "age": "1h30m", "interval": "10m", "dryrun": "true"}}}}, environ={})
    assert config.upload_purging == PurgePolicy(True, 5400, 600, True)
    assert as_duration(90, "x") == 90
    with pytest.raises(ConfigError, match="storage.maintenance.uploadpurging.age must be a duration"):
        config_from_dict({"storage": {"maintenance": {"uploadpurging": {"age": "3 days"}}}}, environ={})
