"""registry:2 `storage:` sections become drivers; mistakes become one clear ValueError."""
from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from storage_backends.factory import make_driver
from storage_backends.filesystem import FilesystemDriver
from storage_backends.memory import MemoryDriver
from storage_backends.s3 import S3Driver


async def test_filesystem_section_writes_under_its_rootdirectory(tmp_path):
    driver = make_driver({"filesystem": {"rootdirectory": str(tmp_path / "reg")}, "delete": {"enabled": True}})
    assert isinstance(driver, FilesystemDriver)
    await driver.put_content("docker/registry/v2/k", b"v")
    assert (tmp_path / "reg" / "docker" / "registry" / "v2" / "k").read_bytes() == b"v"


def test_inmemory_section_may_be_empty_yaml():
    assert isinstance(make_driver({"inmemory": None}), MemoryDriver)


async def test_s3_section_redirects_unless_disabled(moto_s3, s3_bucket):
    config = moto_s3.storage_config(s3_bucket, rootdirectory="/x")
    del config["redirect"]  # registry:2 default: redirect enabled
    driver = make_driver(config)
    assert isinstance(driver, S3Driver)
    await driver.put_content("blob", b"content")
    with urllib.request.urlopen(await driver.redirect_url("blob"), timeout=10) as response:
        assert response.read() == b"content"
    disabled = make_driver(moto_s3.storage_config(s3_bucket, rootdirectory="/x"))
    assert await disabled.redirect_url("blob") is None
    assert await disabled.get_content("blob") == b"content"


def test_s3_endpoint_without_scheme_follows_secure(moto_s3, s3_bucket):
    config = moto_s3.storage_config(s3_bucket, secure="false", chunksize="6291456")
    config["s3"]["regionendpoint"] = moto_s3.url.removeprefix("http://")
    driver = make_driver(config)
    assert driver._client.meta.endpoint_url == moto_s3.url
    assert driver.part_size == 6291456


@pytest.mark.parametrize("config, message", [
    ({"gcs": {"bucket": "b"}}, "unknown storage driver 'gcs'"),
    ({"filesystem": {}, "inmemory": {}}, "exactly one driver"),
    ({"delete": {"enabled": True}}, "found: none"),
    ({"s3": {"region": "us-east-1"}}, "storage.s3.bucket is required"),
    ({"s3": {"bucket": "b", "region": "r", "chunksize": 1000}}, "at least 5 MiB"),
    ({"s3": {"bucket": "b", "region": "r", "chunksize": "ten"}}, "number of bytes"),
    ({"inmemory": {}, "redirect": {"disable": "maybe"}}, "true or false"),
    ({"filesystem": "/var/lib/registry"}, "must be a mapping"),
    ("filesystem", "must be a mapping"),
])
def test_bad_sections_are_clear_value_errors(config, message):
    with pytest.raises(ValueError, match=message):
        make_driver(config)


def test_a_filesystem_registry_never_imports_boto3(tmp_path):
    code = ("import sys; from storage_backends.factory import make_driver; "
            f"make_driver({{'filesystem': {{'rootdirectory': {str(tmp_path)!r}}}}}); "
            "print('boto3' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
