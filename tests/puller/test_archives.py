"""save/load and copy through docker-archive and OCI archives, checked by
skopeo and podman reading (or writing) the same files."""
import json
import subprocess
import shutil
import tarfile
import tempfile
from pathlib import Path

import pytest

from ocispec.digest import Digest
from ocispec.layout import OciLayout
from puller.store import LocalStore
from tests.puller.builders import build_layout
from tests.puller.test_store import load_layout_into_store
from tests.support.processes import require_binary


@pytest.fixture
def stored(tmp_path, pyreg, root):
    """An image in the store as 127.0.0.1:5000/team/app:v1; returns its config digest."""
    build_layout(tmp_path / "src", [300_000, 5_000])
    load_layout_into_store(pyreg, tmp_path / "src", "127.0.0.1:5000/team/app:v1")
    return LocalStore(root).resolve_image("127.0.0.1:5000/team/app:v1")[1].config.digest


def test_save_is_read_by_skopeo(tmp_path, pyreg, skopeo, stored, root):
    archive = tmp_path / "out.tar"
    result = pyreg("save", "-o", str(archive), "127.0.0.1:5000/team/app:v1")
    assert result.code == 0, result.err
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert manifest[0]["RepoTags"] == ["127.0.0.1:5000/team/app:v1"]
        assert json.load(tar.extractfile("repositories"))["127.0.0.1:5000/team/app"]["v1"]
    skopeo("copy", f"docker-archive:{archive}", f"oci:{tmp_path}/back:x")
    inspected = json.loads(skopeo("inspect", "--config", f"oci:{tmp_path}/back:x").stdout)
    config = LocalStore(root).resolve_image("127.0.0.1:5000/team/app:v1")[2]
    assert inspected["rootfs"]["diff_ids"] == config["rootfs"]["diff_ids"]


def test_podman_loads_the_saved_archive(tmp_path, pyreg, stored):
    podman = require_binary("podman", "podman")
    archive = tmp_path / "out.tar"
    assert pyreg("save", "-o", str(archive), "127.0.0.1:5000/team/app:v1").code == 0
    short = Path(tempfile.mkdtemp(prefix="pp-"))  # podman wants a runroot under 50 characters
    storage = ["--root", str(tmp_path / "podman-root"), "--runroot", str(short),
               "--storage-driver", "vfs"]
    done = subprocess.run([podman, *storage, "load", "-i", str(archive)], capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0 and "cannot" in done.stderr and "namespace" in done.stderr:
        pytest.skip(f"podman cannot run here: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    images = subprocess.run([podman, *storage, "images", "--format", "{{.ID}} {{.Repository}}"],
                            capture_output=True, text=True, timeout=60).stdout
    assert stored.encoded[:12] in images and "127.0.0.1:5000/team/app" in images
    subprocess.run([podman, *storage, "rmi", "-a", "-f"], capture_output=True, timeout=60)
    shutil.rmtree(short, ignore_errors=True)


def test_load_archives_skopeo_wrote(tmp_path, pyreg, skopeo, root):
    image = build_layout(tmp_path / "src", [40_000])
    skopeo("copy", f"oci:{tmp_path}/src:latest", f"docker-archive:{tmp_path}/d.tar:example.com/x/y:z")
    skopeo("copy", f"oci:{tmp_path}/src:latest", f"oci-archive:{tmp_path}/o.tar:v9")
    loaded = pyreg("load", "-i", str(tmp_path / "d.tar"))
    assert loaded.code == 0, loaded.err
    assert "example.com/x/y:z" in loaded.out
    store = LocalStore(root)
    config = json.loads(OciLayout(tmp_path / "src").read_blob(
        store.resolve_image("example.com/x/y:z")[1].config.digest))
    assert config["rootfs"]["diff_ids"]
    loaded = pyreg("load", "-i", str(tmp_path / "o.tar"))
    assert loaded.code == 0 and "localhost/o:v9" in loaded.out
    assert store.layout.resolve("localhost/o:v9").digest == image.digest


def test_copy_to_and_from_docker_archive(tmp_path, pyreg, skopeo, registry_host, stored):
    build_layout(tmp_path / "img", [70_000])
    skopeo("copy", f"oci:{tmp_path}/img:latest", f"docker://{registry_host}/c/d:1",
           "--dest-tls-verify=false")
    archive = tmp_path / "c.tar"
    result = pyreg("copy", f"docker://{registry_host}/c/d:1", f"docker-archive:{archive}:c/d:1")
    assert result.code == 0, result.err
    skopeo("copy", f"docker-archive:{archive}", f"oci:{tmp_path}/check:1")
    result = pyreg("copy", f"docker-archive:{archive}", f"{registry_host}/e/f:2")
    assert result.code == 0, result.err
    assert "2" in pyreg("tags", f"{registry_host}/e/f").out.split()


@pytest.mark.parametrize("content, message", [
    (b"not a tar at all", "not a tar archive"),
    (None, "neither a docker-archive nor an OCI archive"),
])
def test_load_rejects_garbage_with_one_line(tmp_path, pyreg, root, content, message):
    path = tmp_path / "bad.tar"
    if content is None:
        with tarfile.open(path, "w") as tar:
            tar.add(__file__, arcname="hello.py")
    else:
        path.write_bytes(content)
    result = pyreg("load", "-i", str(path))
    assert result.code == 1 and message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert LocalStore(root).images() == []


def test_load_refuses_archive_whose_layer_lies(tmp_path, pyreg, root):
    build_layout(tmp_path / "src", [1000])
    layout = OciLayout(tmp_path / "src")
    manifest = json.loads(layout.read_blob(layout.resolve("latest").digest))
    layer = layout.blob_path(Digest.parse(manifest["layers"][0]["digest"]))
    layer.write_bytes(b"tampered")
    result = pyreg("load", "-i", str(tmp_path / "src"))
    assert result.code == 1 and "does not match" in result.err
    assert LocalStore(root).images() == []


def test_save_then_load_keeps_the_image_id(tmp_path, pyreg, root, stored):
    archive = tmp_path / "round.tar"
    assert pyreg("save", "-q", "-o", str(archive), "127.0.0.1:5000/team/app:v1").code == 0
    assert pyreg("rmi", "127.0.0.1:5000/team/app:v1", "localhost/src:latest").code == 0
    assert list(LocalStore(root).layout.blob_digests()) == []
    loaded = pyreg("load", "-i", str(archive))
    assert loaded.code == 0 and "127.0.0.1:5000/team/app:v1" in loaded.out
    _, manifest, config = LocalStore(root).resolve_image("127.0.0.1:5000/team/app:v1")
    assert manifest.config.digest == stored  # the image id survives the round trip
    assert [layer.digest for layer in manifest.layers] == \
        [Digest.parse(d) for d in config["rootfs"]["diff_ids"]]  # layers stored uncompressed
