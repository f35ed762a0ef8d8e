import pytest

from storage_backends.s3 import S3Driver
from tests.storage_backends.conformance import StorageDriverConformance


class TestS3Driver(StorageDriverConformance):
    peak_memory_limit = 48 << 20  # a 10 MiB part in the buffer, its copy in flight, boto3's own

    @pytest.fixture
    async def driver(self, moto_s3, s3_bucket):
        driver = S3Driver(s3_bucket, moto_s3.region, moto_s3.url, moto_s3.access_key,
                          moto_s3.secret_key, root_directory="/registry/root")
        yield driver
        await driver.close()
