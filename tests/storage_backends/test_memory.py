import pytest

from storage_backends.memory import MemoryDriver
from tests.storage_backends.conformance import StorageDriverConformance


class TestMemoryDriver(StorageDriverConformance):
    holds_bytes = True  # by design: it is the fast backend for unit tests

    @pytest.fixture
    def driver(self):
        return MemoryDriver()
