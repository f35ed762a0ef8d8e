import os

import pytest

from tests.support.moto_server import S3Endpoint, moto_s3_server
from tests.support.processes import distribution_registry

# `pyreg run` defaults to the bridge network, as docker does; the suite must
# not touch the host's networking, so its containers get none unless a test
# asks for a bridge, inside a network namespace it made (tests/runtime/network).
os.environ["PYREG_NETWORK"] = "none"


@pytest.fixture
def distribution(tmp_path):
    """A real Distribution 2.8.2 registry on 127.0.0.1; yields its base URL."""
    with distribution_registry(tmp_path / "distribution") as url:
        yield url


@pytest.fixture(scope="session")
def moto_s3() -> S3Endpoint:
    """One moto S3 server process for the whole session; tests isolate by bucket."""
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(moto_s3) -> str:
    return moto_s3.create_bucket()
