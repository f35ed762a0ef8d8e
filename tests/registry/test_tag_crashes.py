"""A tag that is listed always resolves, whatever write a crash interrupts.

A crash is an exception raised instead of the N-th storage write (each write
is atomic on every backend, so this is the state a kill leaves), for every
N of a tagged manifest PUT and of moving the tag to a new manifest; a fresh
store over the same storage must then resolve every tag it lists."""
from __future__ import annotations

import contextlib

import pytest

from ocispec.manifest import parse_manifest
from registry import paths
from registry.store import RegistryStore
from storage_backends.filesystem import FilesystemDriver
from storage_backends.memory import MemoryDriver

from .seed import image_manifest, sha256

CONFIG, LAYER = b'{"architecture":"amd64","os":"linux"}', b"layer bytes"


class Crash(BaseException):
    """Not an Exception: no handler may swallow it, as none survives a kill."""


def crashing(base: type):
    class Crashing(base):
        writes_left: int | None = None  # None: never crash

        def _write(self) -> None:
            if self.writes_left is not None:
                if self.writes_left == 0:
                    raise Crash()
                self.writes_left -= 1

        async def put_content(self, key, data):
            self._write()
            await super().put_content(key, data)

        async def move(self, source, dest):
            self._write()
            await super().move(source, dest)

        async def delete(self, key):
            self._write()
            await super().delete(key)
    return Crashing


@pytest.fixture(params=["memory", "filesystem"])
def fresh_driver(request, tmp_path):
    """A function making a driver over new, empty storage at each call."""
    made = iter(range(1_000_000))
    if request.param == "memory":
        return lambda: crashing(MemoryDriver)()
    return lambda: crashing(FilesystemDriver)(tmp_path / f"storage-{next(made)}")


async def prepare(store: RegistryStore) -> None:
    for blob in (CONFIG, LAYER):
        await store.blobs.put_small(parse_digest(blob), blob)
        await store.blobs.link("team/app", parse_digest(blob))


def parse_digest(data: bytes):
    from ocispec.digest import Digest
    return Digest.parse(sha256(data))


async def every_listed_tag_resolves(store: RegistryStore) -> list[str]:
    tags = await store.tags.names("team/app") or []
    for tag in tags:
        digest = await store.tags.resolve("team/app", tag)
        assert digest is not None, f"tag {tag} is listed but does not resolve"
        await store.manifests.get("team/app", digest, linked=True)
    return tags


@pytest.mark.parametrize("retag", [False, True], ids=["new-tag", "moved-tag"])
async def test_a_crash_at_any_write_never_lists_an_unresolvable_tag(fresh_driver, retag):
    first = parse_manifest(image_manifest(CONFIG, [LAYER]))
    second = parse_manifest(image_manifest(CONFIG, [LAYER], annotations={"v": "2"}))

    async def prepared():
        driver = fresh_driver()
        store = RegistryStore(driver)
        await prepare(store)
        if retag:
            await store.manifests.put("team/app", first, "v1")
        return driver

    counting = await prepared()
    counting.writes_left = 10_000
    await RegistryStore(counting).manifests.put("team/app", second, "v1")
    total = 10_000 - counting.writes_left
    assert total >= 4  # manifest bytes, revision link, the tag's current and index links
    for crash_at in range(total + 1):
        driver = await prepared()
        driver.writes_left = crash_at
        with pytest.raises(Crash) if crash_at < total else contextlib.nullcontext():
            await RegistryStore(driver).manifests.put("team/app", second, "v1")
        driver.writes_left = None
        tags = await every_listed_tag_resolves(RegistryStore(driver))  # a restart: no caches
        if retag or crash_at == total:
            assert tags == ["v1"]


async def test_a_tag_directory_without_current_link_is_not_listed(tmp_path):
    """What Distribution (index link first) or a cut delete can leave behind."""
    driver = FilesystemDriver(tmp_path)
    store = RegistryStore(driver)
    await prepare(store)
    manifest = parse_manifest(image_manifest(CONFIG, [LAYER]))
    await store.manifests.put("team/app", manifest, "good")
    await driver.put_content(paths.tag_index_link("team/app", "half", manifest.digest),
                             str(manifest.digest).encode())
    assert await store.tags.names("team/app") == ["good"]
    assert await store.tags.names("team/app", after="a", count=5) == ["good"]
    assert await store.tags.resolve("team/app", "half") is None
