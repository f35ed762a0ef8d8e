import pytest

from storage_backends.filesystem import FilesystemDriver
from tests.storage_backends.conformance import StorageDriverConformance


class TestFilesystemDriver(StorageDriverConformance):
    peak_memory_limit = 8 << 20  # 1 MiB write buffer and 1 MiB reads

    @pytest.fixture
    def driver(self, tmp_path):
        return FilesystemDriver(tmp_path / "root")
