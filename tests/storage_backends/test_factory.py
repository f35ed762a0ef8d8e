"""Typed storage settings become drivers; the factory parses nothing itself."""
from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

from storage_backends.factory import make_driver
from storage_backends.filesystem import FilesystemDriver
from storage_backends.memory import MemoryDriver
from storage_backends.s3 import S3Driver
from storage_backends.settings import FilesystemSettings, InMemorySettings, S3Settings, StorageSettings


async def test_filesystem_settings_write_under_their_root(tmp_path):
    driver = make_driver(StorageSettings(FilesystemSettings(str(tmp_path / "reg"))))
    assert isinstance(driver, FilesystemDriver)
    await driver.put_content("docker/registry/v2/k", b"v")
    assert (tmp_path / "reg" / "docker" / "registry" / "v2" / "k").read_bytes() == b"v"


def test_inmemory_settings():
    assert isinstance(make_driver(StorageSettings(InMemorySettings())), MemoryDriver)


async def test_s3_settings_redirect_unless_disabled(moto_s3, s3_bucket):
    driver = make_driver(moto_s3.settings(s3_bucket, redirect=True, root_directory="/x"))
    assert isinstance(driver, S3Driver)
    await driver.put_content("blob", b"content")
    with urllib.request.urlopen(await driver.redirect_url("blob"), timeout=10) as response:
        assert response.read() == b"content"
    disabled = make_driver(moto_s3.settings(s3_bucket, root_directory="/x"))
    assert await disabled.redirect_url("blob") is None
    assert await disabled.get_content("blob") == b"content"


def test_s3_endpoint_without_scheme_follows_secure(moto_s3, s3_bucket):
    settings = S3Settings(bucket=s3_bucket, region=moto_s3.region, secure=False, part_size=6291456,
                          endpoint=moto_s3.url.removeprefix("http://"))
    driver = make_driver(StorageSettings(settings))
    assert driver._client.meta.endpoint_url == moto_s3.url
    assert driver.part_size == 6291456


def test_a_filesystem_registry_never_imports_boto3(tmp_path):
    code = ("import sys; from storage_backends.factory import make_driver; "
            "from storage_backends.settings import FilesystemSettings, StorageSettings; "
            f"make_driver(StorageSettings(FilesystemSettings({str(tmp_path)!r}))); "
            "print('boto3' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
