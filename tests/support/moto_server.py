"""A real S3 endpoint for tests: moto's server mode as a separate process on
127.0.0.1, spoken to over HTTP like any S3. Reusable outside storage tests:

    with moto_s3_server() as s3:
        bucket = s3.create_bucket()
        yaml_section = s3.storage_config(bucket, rootdirectory="/registry")  # for config files
        settings = s3.settings(bucket, root_directory="/registry")          # for make_driver
"""
from __future__ import annotations

import contextlib
import functools
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Iterator

from tests.support.processes import free_port, terminating, wait_for_http


@dataclass(frozen=True)
class S3Endpoint:
    url: str
    region: str = "us-east-1"
    access_key: str = "pyreg-test-key"
    secret_key: str = "pyreg-test-secret"

    @functools.cached_property
    def _client(self):  # making a boto3 client costs ~0.2 s; one per endpoint is enough
        import boto3
        from botocore.config import Config
        return boto3.session.Session().client(
            "s3", endpoint_url=self.url, region_name=self.region, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, config=Config(s3={"addressing_style": "path"}))

    def client(self):
        """A boto3 S3 client for this endpoint, for setup and for checking what landed."""
        return self._client

    def create_bucket(self, name: str | None = None) -> str:
        name = name or f"pyreg-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def storage_config(self, bucket: str, **options) -> dict:
        """A registry:2-style `storage:` mapping for this endpoint (redirects off
        unless asked, since most tests want the registry to stream)."""
        s3 = {"bucket": bucket, "region": self.region, "regionendpoint": self.url,
              "accesskey": self.access_key, "secretkey": self.secret_key, "rootdirectory": "/"}
        redirect = options.pop("redirect", False)
        s3.update(options)
        return {"s3": s3, "redirect": {"disable": not redirect}}

    def settings(self, bucket: str, redirect: bool = False, **options):
        """The same as typed storage settings, for building drivers and apps directly."""
        from storage_backends.settings import S3Settings, StorageSettings
        driver = S3Settings(bucket=bucket, region=self.region, endpoint=self.url,
                            access_key=self.access_key, secret_key=self.secret_key, **options)
        return StorageSettings(driver=driver, redirect=redirect)


@contextlib.contextmanager
def moto_s3_server() -> Iterator[S3Endpoint]:
    """Run moto's S3 server on a free port; yields its endpoint and stops it after."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with terminating(process):
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/moto-api/", process, timeout=60)
        yield S3Endpoint(url)
