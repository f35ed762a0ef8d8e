"""The protocol between a sweep and the writers, one side at a time: a writer
relying on an old blob touches it and waits out a live sweep that names it;
a sweep spares what was touched after it published, and everything a spared
manifest keeps. Real drivers, a real lease; the "other side" is played by
the test at the moment the race would otherwise leave to chance."""
from __future__ import annotations

import asyncio
import dataclasses
import os

import pytest

from ocispec.digest import Digest
from ocispec.manifest import parse_manifest
from registry import paths
from registry.gc import SweepGuard, Timing
from registry.gc import keys as gc_keys
from registry.gc.lease import SweepLease
from registry.gc.run import Collection
from registry.store import RegistryStore
from storage_backends.bulk import delete_many, walk_files
from tests.registry.seed import image_manifest, index_manifest, push_blob, push_manifest, sha256

from .checks import assert_consistent, pull
from .conftest import EAGER, opened, registry_client
from .wiring import guarded_mount, guarded_put, is_blob_unknown

CONFIG = b'{"architecture":"amd64","os":"linux"}'
pytestmark = pytest.mark.parametrize("storage", ["memory", "filesystem"], indirect=True)


async def pushed_blobs(storage, name: str, *blobs: bytes) -> list[Digest]:
    async with registry_client(storage) as client:
        for blob in blobs:
            await push_blob(client, name, blob)
    await storage.settle()
    return [Digest.parse(sha256(blob)) for blob in blobs]


async def publish(driver, digest: Digest, timing: Timing) -> SweepLease:
    lease = SweepLease(driver, timing)
    await lease.acquire()
    await lease.publish({("blobs", gc_keys.shard_of(digest)): [digest.encoded]})
    return lease


async def waiting_put(driver, layer: bytes) -> asyncio.Task:
    """A manifest PUT's checks, started while a sweep has the layer published."""
    put = asyncio.create_task(SweepGuard(driver, EAGER).protect_manifest(
        "app", parse_manifest(image_manifest(CONFIG, [layer]))))
    await asyncio.sleep(0.3)
    assert not put.done()  # the shard is still published: it must wait
    return put


async def test_fresh_links_need_no_touch_and_a_missing_one_is_refused(storage):
    await pushed_blobs(storage, "app", CONFIG, layer := os.urandom(900))
    async with opened(storage) as driver:
        guard = SweepGuard(driver, Timing())
        await guard.protect_manifest("app", parse_manifest(image_manifest(CONFIG, [layer])))
        assert await walk_files(driver, gc_keys.GC) == []
        with pytest.raises(Exception) as refused:
            await guard.protect_manifest("app", parse_manifest(image_manifest(CONFIG, [b"never pushed"])))
        assert is_blob_unknown(refused.value)


async def test_an_old_link_is_touched_before_it_is_relied_on(storage):
    config, layer = await pushed_blobs(storage, "app", CONFIG, layer_bytes := os.urandom(900))
    async with opened(storage) as driver:
        await SweepGuard(driver, EAGER).protect_manifest("app", parse_manifest(image_manifest(CONFIG, [layer_bytes])))
        touched = {info.key for info in await walk_files(driver, gc_keys.TOUCHED)}
        assert {gc_keys.touch_record(config), gc_keys.touch_record(layer)} <= touched


async def test_a_writer_waits_for_the_shard_and_refuses_if_the_sweep_took_the_blob(storage):
    _, layer = await pushed_blobs(storage, "app", CONFIG, layer_bytes := os.urandom(900))
    async with opened(storage) as driver:
        lease = await publish(driver, layer, EAGER)
        put = await waiting_put(driver, layer_bytes)
        await delete_many(driver, [paths.layer_link("app", layer), paths.blob_data(layer)])
        await lease.finish_shard("blobs", gc_keys.shard_of(layer))
        with pytest.raises(Exception) as refused:
            await put
        assert is_blob_unknown(refused.value)
        await lease.release()


async def test_a_writer_goes_on_when_the_sweep_spared_the_blob(storage):
    _, layer = await pushed_blobs(storage, "app", CONFIG, layer_bytes := os.urandom(900))
    async with opened(storage) as driver:
        lease = await publish(driver, layer, EAGER)
        put = await waiting_put(driver, layer_bytes)
        await lease.finish_shard("blobs", gc_keys.shard_of(layer))
        await put
        await lease.release()


async def test_a_writer_stops_waiting_for_a_dead_sweep(storage):
    timing = dataclasses.replace(EAGER, lease=0.5)
    _, layer = await pushed_blobs(storage, "app", CONFIG, layer_bytes := os.urandom(900))
    async with opened(storage) as driver:
        lease = await publish(driver, layer, timing)
        lease._heartbeat.cancel()  # killed: the shard stays published forever
        await SweepGuard(driver, timing).protect_manifest("app", parse_manifest(image_manifest(CONFIG, [layer_bytes])))


async def test_a_sweep_spares_a_blob_touched_after_it_published(storage):
    _, orphan = await pushed_blobs(storage, "app", CONFIG, os.urandom(900))
    async with opened(storage) as driver:
        collection = Collection(driver, False, False, EAGER)
        plan = await collection.prepare()
        assert orphan in {item.digest for item in plan.blobs}
        await driver.put_content(gc_keys.touch_record(orphan), b"")  # a writer, just in time
        await collection.sweep()
        await collection.close()
        assert orphan in {item.digest for item in collection.report.spared}
        assert await driver.exists(paths.blob_data(orphan))
        assert await driver.exists(paths.layer_link("app", orphan))


async def test_a_spared_untagged_index_keeps_its_children_and_their_blobs(storage):
    layers = [os.urandom(700), os.urandom(800)]
    children = [image_manifest(CONFIG, [layer]) for layer in layers]
    index = index_manifest(children)
    async with registry_client(storage) as client:
        for blob in (CONFIG, *layers):
            await push_blob(client, "multi", blob)
        for raw in children:
            await push_manifest(client, "multi", sha256(raw), raw)
        await push_manifest(client, "multi", sha256(index), index, "application/vnd.oci.image.index.v1+json")
        await storage.settle()
        async with opened(storage) as driver:
            collection = Collection(driver, False, True, EAGER)
            plan = await collection.prepare()
            assert {str(item.digest) for item in plan.unlink} == {sha256(index), *map(sha256, children)}
            await driver.put_content(gc_keys.touch_record(Digest.parse(sha256(index))), b"")
            await collection.sweep()
            await collection.close()
            assert collection.report.removed == []
            await assert_consistent(driver)
        await pull(client, "multi", sha256(index))


async def test_a_tag_pushed_while_its_untagged_manifest_is_swept_either_lands_whole_or_fails(storage):
    layer = os.urandom(1500)
    raw = image_manifest(CONFIG, [layer])
    async with registry_client(storage) as client:
        for blob in (CONFIG, layer):
            await push_blob(client, "app", blob)
        await push_manifest(client, "app", sha256(raw), raw)
        await storage.settle()
        async with opened(storage) as driver:
            collection = Collection(driver, False, True, EAGER)
            await collection.prepare()
            store = RegistryStore(storage.open())
            put = asyncio.create_task(guarded_put(store, SweepGuard(store.driver, EAGER), "app", raw, "v1"))
            await asyncio.sleep(0.3)
            assert not put.done()  # its manifest and blobs are published as doomed
            await collection.sweep()
            await collection.close()
            try:
                await put
            except Exception as error:
                assert is_blob_unknown(error)
            else:
                await pull(client, "app", "v1")
            await assert_consistent(driver)


async def test_a_mount_of_bytes_a_sweep_removed_is_undone(storage):
    _, orphan = await pushed_blobs(storage, "source", CONFIG, os.urandom(900))
    async with opened(storage) as driver:
        lease = await publish(driver, orphan, EAGER)
        store = RegistryStore(storage.open())
        mount = asyncio.create_task(guarded_mount(store, SweepGuard(store.driver, EAGER), "target", "source", orphan))
        await asyncio.sleep(0.3)
        await delete_many(driver, [paths.layer_link("source", orphan), paths.blob_data(orphan)])
        await lease.finish_shard("blobs", gc_keys.shard_of(orphan))
        assert await mount is False
        assert not await driver.exists(paths.layer_link("target", orphan))
        await lease.release()
