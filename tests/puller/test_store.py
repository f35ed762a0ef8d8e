"""The local store: names, ids, tags, listing, removal with garbage
collection, and two pulls at once."""
import json
import subprocess
import sys
from pathlib import Path

from ocispec.layout import OciLayout
from puller.store import ImageNotFound, LocalStore
from tests.puller.builders import build_layout, write_image
from tests.puller.fake_registry import serve

import pytest


def load_layout_into_store(pyreg, layout_dir: Path, name: str) -> None:
    """`pyreg load` an OCI layout directory, then `pyreg tag` it as `name`."""
    loaded = pyreg("load", "-i", str(layout_dir))
    assert loaded.code == 0, loaded.err
    first = loaded.out.split("Loaded image: ")[1].split()[0]
    assert pyreg("tag", first, name).code == 0


def test_names_ids_and_short_references(tmp_path, pyreg, root):
    image = build_layout(tmp_path / "src", [1000, 2000])
    load_layout_into_store(pyreg, tmp_path / "src", "busybox")
    store = LocalStore(root)
    assert store.layout.resolve("docker.io/library/busybox:latest").digest == image.digest
    descriptor, manifest, config = store.resolve_image("busybox")
    assert descriptor.digest == image.digest and config["os"] == "linux"
    for alias in ("busybox:latest", "docker.io/library/busybox", str(image.digest),
                  image.digest.encoded[:12], manifest.config.digest.encoded[:12]):
        assert store.resolve_image(alias)[0].digest == image.digest, alias
    with pytest.raises(ImageNotFound):
        store.resolve_image("alpine")
    listed = pyreg("images")
    assert "busybox" in listed.out and manifest.config.digest.encoded[:12] in listed.out
    rows = json.loads(pyreg("images", "--format", "json").out)
    assert {"Repository": "busybox", "Tag": "latest"}.items() <= rows[-1].items()
    inspected = json.loads(pyreg("inspect", "busybox").out)
    assert inspected["Id"] == str(manifest.config.digest)


def test_rmi_collects_only_unreferenced_blobs(tmp_path, pyreg, root):
    layout = OciLayout(tmp_path / "src")
    first = write_image(layout, [1000, 2000], ref_name="one")
    second = write_image(layout, [3000], ref_name="two")
    assert pyreg("load", "-i", str(tmp_path / "src")).code == 0
    store = LocalStore(root)
    names = [e.name for e in store.images()]
    assert names == ["localhost/src:one", "localhost/src:two"]
    assert pyreg("tag", "localhost/src:one", "again:1").code == 0
    before = set(store.layout.blob_digests())
    assert pyreg("rmi", "localhost/src:one").code == 0
    assert set(store.layout.blob_digests()) == before  # still named again:1
    removed = pyreg("rmi", "again:1")
    assert removed.code == 0 and "Untagged: docker.io/library/again:1" in removed.out
    left = set(store.layout.blob_digests())
    assert first.digest not in left and second.digest in left
    assert len(left) == 3  # manifest, config, one layer of the second image
    missing = pyreg("rmi", "again:1")
    assert missing.code == 1 and "not found" in missing.err


def test_rmi_keeps_the_layers_the_build_cache_names(tmp_path, pyreg, root):
    """`pyreg build`'s step records (builder/cache.py's format) keep their
    layers through garbage collection; a record without a layer, or one
    that is not JSON, keeps nothing."""
    layout = OciLayout(tmp_path / "src")
    image = write_image(layout, [1000, 2000], ref_name="one")
    assert pyreg("load", "-i", str(tmp_path / "src")).code == 0
    store = LocalStore(root)
    manifest = store.read_manifest(store.find("localhost/src:one").descriptor)
    cached, dropped = manifest.layers
    steps = root / "build-cache" / "steps" / "ab"
    steps.mkdir(parents=True)
    (steps / ("ab" + "1" * 62 + ".json")).write_text(json.dumps(
        {"key": "sha256:ab" + "1" * 62, "created": "2023-01-01T00:00:00Z", "layer": cached.to_json()}))
    (steps / ("ab" + "2" * 62 + ".json")).write_text(json.dumps(
        {"key": "sha256:ab" + "2" * 62, "created": "2023-01-01T00:00:00Z", "layer": None}))
    (steps / ("ab" + "3" * 62 + ".json")).write_text("{not json")
    assert pyreg("rmi", "localhost/src:one").code == 0
    assert set(store.layout.blob_digests()) == {cached.digest}
    assert image.digest not in set(store.layout.blob_digests()) and dropped.digest != cached.digest


def test_two_pulls_at_once_share_the_store(tmp_path, root):
    source = OciLayout(tmp_path / "served")
    write_image(source, [4_000_000, 3_000_000], ref_name="latest")
    code = ("import sys, pyreg_cli.main as m; m.VERB_MODULES = ('pyreg_cli.images',); "
            "sys.exit(m.main(sys.argv[1:]))")
    with serve(source) as host:
        processes = [subprocess.Popen([sys.executable, "-c", code, "--root", str(root), "pull", "-q",
                                       f"{host}/r/img:{tag}"], stderr=subprocess.PIPE)
                     for tag in ("latest", "latest", "latest")]
        results = [(p.wait(timeout=60), p.stderr.read()) for p in processes]
    assert all(code == 0 for code, _ in results), results
    store = LocalStore(root)
    assert [e.name for e in store.images()] == [f"{host}/r/img:latest"]
    for digest in store.layout.blob_digests():
        assert store.layout.read_blob(digest) == source.read_blob(digest)
    assert sorted(store.layout.blob_digests(), key=str) == sorted(source.blob_digests(), key=str)


def test_the_real_command_line(tmp_path, root):
    """`python -m pyreg_cli.main` with every verb group registered, as users run it."""
    source = OciLayout(tmp_path / "served")
    write_image(source, [5000], ref_name="latest")
    env = {**__import__("os").environ, "PYREG_HOME": str(root),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with serve(source) as host:
        pulled = subprocess.run([sys.executable, "-m", "pyreg_cli.main", "pull", f"{host}/r/img:latest"],
                                capture_output=True, text=True, env=env, timeout=60)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.strip() == f"{host}/r/img:latest"
    assert "Digest: sha256:" in pulled.stderr
    listed = subprocess.run([sys.executable, "-m", "pyreg_cli.main", "images"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert f"{host}/r/img" in listed.stdout
