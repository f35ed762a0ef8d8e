"""Build the storage driver that typed `StorageSettings` describe.

The settings were checked when they were built (see `registry.config`), so
this only chooses and constructs. Backends are imported only when chosen,
so a filesystem registry never loads boto3.
"""
from __future__ import annotations

from .base import StorageDriver
from .settings import FilesystemSettings, InMemorySettings, S3Settings, StorageSettings


def make_driver(settings: StorageSettings) -> StorageDriver:
    driver = settings.driver
    if isinstance(driver, FilesystemSettings):
        from .filesystem import FilesystemDriver
        return FilesystemDriver(driver.root_directory)
    if isinstance(driver, InMemorySettings):
        from .memory import MemoryDriver
        return MemoryDriver()
    if isinstance(driver, S3Settings):
        from .s3 import S3Driver
        return S3Driver(
            bucket=driver.bucket, region=driver.region, endpoint_url=driver.endpoint_url,
            access_key=driver.access_key, secret_key=driver.secret_key,
            session_token=driver.session_token, root_directory=driver.root_directory,
            redirect=settings.redirect, part_size=driver.part_size,
            force_path_style=driver.force_path_style, verify=not driver.skip_verify)
    raise TypeError(f"no storage driver for {type(driver).__name__}")
