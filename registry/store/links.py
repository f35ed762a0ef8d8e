"""Link files: small keys whose content is a digest (`sha256:<hex>`).

They are the registry's access boundary (a blob or manifest is visible in a
repository only through a link) and are read on every request; backends
read such small keys inline, without a thread hop.
"""
from __future__ import annotations

from ocispec.digest import Digest
from ocispec.errors import OciError
from storage_backends.base import PathNotFound, StorageDriver


# Link contents are read on every request and parsing a digest costs more
# than reading the file; the same few thousand digests repeat.
_PARSED: dict[bytes, Digest] = {}
_PARSED_LIMIT = 100_000


class Links:
    def __init__(self, driver: StorageDriver):
        self.driver = driver

    async def read(self, key: str) -> Digest | None:
        """The digest a link names, or None when it is absent or garbled."""
        raw = await self._read_bytes(key)
        if raw is None:
            return None
        digest = _PARSED.get(raw)
        if digest is None:
            try:
                digest = Digest.parse(raw.decode("ascii", "replace").strip())
            except OciError:
                return None
            if len(_PARSED) >= _PARSED_LIMIT:
                _PARSED.clear()
            _PARSED[raw] = digest
        return digest

    async def exists(self, key: str) -> bool:
        return await self._read_bytes(key) is not None

    async def write(self, key: str, digest: Digest) -> None:
        await self.driver.put_content(key, str(digest).encode())

    async def remove(self, key: str) -> bool:
        """Delete a link or a whole directory; False when nothing was there."""
        try:
            await self.driver.delete(key)
        except PathNotFound:
            return False
        return True

    async def _read_bytes(self, key: str) -> bytes | None:
        try:
            return await self.driver.get_content(key)
        except PathNotFound:
            return None

    async def children(self, prefix: str) -> list[str]:
        """Listed child keys of a directory, [] when it does not exist."""
        try:
            return await self.driver.list(prefix)
        except PathNotFound:
            return []
