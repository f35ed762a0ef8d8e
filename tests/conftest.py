import pytest

from tests.support.processes import distribution_registry


@pytest.fixture
def distribution(tmp_path):
    """A real Distribution 2.8.2 registry on 127.0.0.1; yields its base URL."""
    with distribution_registry(tmp_path / "distribution") as url:
        yield url
