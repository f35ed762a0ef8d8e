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
from ocispec.errors import ErrorCode, OciError
from ocispec.manifest import parse_manifest
from registry import paths
from registry.gc import SweepGuard, Timing
from registry.gc import keys as gc_keys
from registry.gc.lease import SweepLease
from registry.gc.run import Collection
from storage_backends.bulk import delete_many, walk_files
from tests.registry.seed import image_manifest, index_manifest, push_blob, push_manifest, sha256

from .checks import assert_consistent, pull
from .conftest import EAGER, gc_config, opened, put_manifest, refused_blob_unknown, registry_client

CONFIG = b'{"architecture":"amd64","os":"linux"}'
pytestmark = pytest.mark.parametrize("storage", ["memory", "filesystem"], indirect=True)


def is_blob_unknown(error: BaseException) -> bool:
    return isinstance(error, OciError) and error.code is ErrorCode.MANIFEST_BLOB_UNKNOWN


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
    """Through the registry's own manifest PUT, served on 127.0.0.1."""
    layer = os.urandom(1500)
    raw = image_manifest(CONFIG, [layer])
    async with registry_client(storage, gc_config(EAGER)) as client:
        for blob in (CONFIG, layer):
            await push_blob(client, "app", blob)
        await push_manifest(client, "app", sha256(raw), raw)
        await storage.settle()
        async with opened(storage) as driver:
            collection = Collection(driver, False, True, EAGER)
            await collection.prepare()
            put = asyncio.create_task(put_manifest(client, "app", "v1", raw))
            await asyncio.sleep(0.3)
            assert not put.done()  # its manifest and blobs are published as doomed
            await collection.sweep()
            await collection.close()
            status, body = await put
            if status == 201:
                await pull(client, "app", "v1")
            else:
                assert refused_blob_unknown(status, body), (status, body)
                assert (await client.get("/v2/app/manifests/v1")).status == 404
            await assert_consistent(driver)


async def test_a_manifest_put_refused_when_the_sweep_took_its_layer_commits_nothing(storage):
    _, layer = await pushed_blobs(storage, "app", CONFIG, layer_bytes := os.urandom(900))
    raw = image_manifest(CONFIG, [layer_bytes])
    async with registry_client(storage, gc_config(EAGER)) as client, opened(storage) as driver:
        lease = await publish(driver, layer, EAGER)
        put = asyncio.create_task(put_manifest(client, "app", "v1", raw))
        await asyncio.sleep(0.3)
        assert not put.done()  # waiting for the shard
        await delete_many(driver, [paths.layer_link("app", layer), paths.blob_data(layer)])
        await lease.finish_shard("blobs", gc_keys.shard_of(layer))
        assert refused_blob_unknown(*await put)
        await lease.release()
        assert (await client.get("/v2/app/manifests/v1")).status == 404
        assert not await driver.exists(paths.revision_link("app", Digest.parse(sha256(raw))))
        assert await walk_files(driver, f"{paths.repository('app')}/_manifests") == []


async def test_a_mount_of_bytes_a_sweep_removed_gives_an_upload_session(storage):
    _, orphan = await pushed_blobs(storage, "source", CONFIG, os.urandom(900))
    async with registry_client(storage, gc_config(EAGER)) as client, opened(storage) as driver:
        lease = await publish(driver, orphan, EAGER)
        mount = asyncio.create_task(client.post(f"/v2/target/blobs/uploads/?mount={orphan}&from=source"))
        await asyncio.sleep(0.3)
        assert not mount.done()
        await delete_many(driver, [paths.layer_link("source", orphan), paths.blob_data(orphan)])
        await lease.finish_shard("blobs", gc_keys.shard_of(orphan))
        assert (await mount).status == 202  # not mounted: upload the bytes again
        assert not await driver.exists(paths.layer_link("target", orphan))
        await lease.release()


async def test_a_mount_and_a_deduplicated_upload_of_spared_bytes_land(storage):
    _, orphan = await pushed_blobs(storage, "source", CONFIG, orphan_bytes := os.urandom(900))
    async with registry_client(storage, gc_config(EAGER)) as client, opened(storage) as driver:
        lease = await publish(driver, orphan, EAGER)
        mount = asyncio.create_task(client.post(f"/v2/target/blobs/uploads/?mount={orphan}&from=source"))
        upload = asyncio.create_task(client.post(f"/v2/again/blobs/uploads/?digest={orphan}", data=orphan_bytes))
        await asyncio.sleep(0.3)
        assert not mount.done() and not upload.done()
        await lease.finish_shard("blobs", gc_keys.shard_of(orphan))  # spared
        assert (await mount).status == 201 and (await upload).status == 201
        await lease.release()
        assert await driver.exists(gc_keys.touch_record(orphan))  # the next sweep spares it too
        for name in ("target", "again"):
            blob = await client.get(f"/v2/{name}/blobs/{orphan}")
            assert sha256(await blob.read()) == str(orphan)


async def test_an_upload_of_bytes_a_sweep_removed_stores_them_again(storage):
    _, orphan = await pushed_blobs(storage, "source", CONFIG, orphan_bytes := os.urandom(900))
    async with registry_client(storage, gc_config(EAGER)) as client, opened(storage) as driver:
        lease = await publish(driver, orphan, EAGER)
        upload = asyncio.create_task(client.post(f"/v2/again/blobs/uploads/?digest={orphan}", data=orphan_bytes))
        await asyncio.sleep(0.3)
        await delete_many(driver, [paths.layer_link("source", orphan), paths.blob_data(orphan)])
        await lease.finish_shard("blobs", gc_keys.shard_of(orphan))
        assert (await upload).status == 201
        await lease.release()
        blob = await client.get(f"/v2/again/blobs/{orphan}")
        assert blob.status == 200 and sha256(await blob.read()) == str(orphan)
