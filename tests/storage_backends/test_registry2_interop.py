"""The same bytes, two registries: what Distribution 2.8.2 writes, pyreg's
drivers read, and what pyreg's drivers write, Distribution serves. Both on a
filesystem root and on an S3 bucket (moto), with drivers built by the factory
from the very storage section Distribution was configured with (read by
pyreg's configuration, as `pyreg serve --config` would)."""
from __future__ import annotations

import pytest

from registry.config import config_from_dict
from storage_backends.factory import make_driver
from tests.storage_backends.registry2 import (
    V2, TinyImage, blob_data_key, distribution_on, layer_link_key, pull_image, push_image,
    revision_link_key, sha256, tag_current_key, write_image)


@pytest.fixture(params=["filesystem", "s3"])
def storage(request, tmp_path) -> dict:
    if request.param == "filesystem":
        return {"filesystem": {"rootdirectory": str(tmp_path / "root")}}
    moto_s3 = request.getfixturevalue("moto_s3")
    bucket = moto_s3.create_bucket()
    return {"s3": {"bucket": bucket, "region": moto_s3.region, "regionendpoint": moto_s3.url,
                   "accesskey": moto_s3.access_key, "secretkey": moto_s3.secret_key,
                   "rootdirectory": "/shared/root", "secure": False, "v4auth": True},
            "redirect": {"disable": True}}


async def test_driver_reads_what_distribution_wrote(storage, tmp_path):
    image = TinyImage.make("from-distribution")
    with distribution_on(storage, tmp_path / "dist"):
        pass  # start once empty: Distribution must cope with a fresh root
    with distribution_on(storage, tmp_path / "dist") as url:
        push_image(url, "library/tiny", "v1", image)
    driver = make_driver(config_from_dict({"storage": storage}, environ={}).storage)
    try:
        for blob in [*image.blobs, image.manifest]:
            assert await driver.get_content(blob_data_key(sha256(blob))) == blob
        for blob in image.blobs:
            assert await driver.get_content(layer_link_key("library/tiny", sha256(blob))) == sha256(blob).encode()
        digest = sha256(image.manifest)
        assert await driver.get_content(tag_current_key("library/tiny", "v1")) == digest.encode()
        assert await driver.exists(revision_link_key("library/tiny", digest))
        assert await driver.list(f"{V2}/repositories/library") == [f"{V2}/repositories/library/tiny"]
    finally:
        await driver.close()


async def test_distribution_serves_what_driver_wrote(storage, tmp_path):
    image = TinyImage.make("from-pyreg")
    driver = make_driver(config_from_dict({"storage": storage}, environ={}).storage)
    try:
        await write_image(driver, "team/app", "latest", image)
    finally:
        await driver.close()
    with distribution_on(storage, tmp_path / "dist") as url:
        manifest, blobs = pull_image(url, "team/app", "latest")
    assert manifest == image.manifest
    assert blobs == image.blobs
