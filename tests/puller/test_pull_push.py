"""Pull and push against a real Distribution 2.8.2, with skopeo as the peer
that writes what pyreg reads and reads what pyreg writes."""
import json
import os
import subprocess

from ocispec.layout import OciLayout
from puller.store import LocalStore, host_platform_value
from tests.puller.builders import build_layout, write_index
from tests.support.processes import require_binary


def test_pull_an_image_skopeo_pushed(tmp_path, pyreg, skopeo, registry_host, root):
    pushed = build_layout(tmp_path / "src", [200_000, 1_500_000])
    skopeo("copy", f"oci:{tmp_path}/src:latest", f"docker://{registry_host}/team/app:v1",
           "--dest-tls-verify=false")
    result = pyreg("pull", f"{registry_host}/team/app:v1")
    assert result.code == 0, result.err
    descriptor, manifest, config = LocalStore(root).resolve_image(f"{registry_host}/team/app:v1")
    assert descriptor.digest == pushed.digest
    assert config["rootfs"]["diff_ids"] and len(manifest.layers) == 2
    for layer in manifest.layers:  # every blob is really there, byte-exact
        assert OciLayout(tmp_path / "src").read_blob(layer.digest) == \
            LocalStore(root).layout.read_blob(layer.digest)
    # skopeo reads pyreg's store as an OCI layout, by the full reference
    inspected = skopeo("inspect", f"oci:{root}/images:{registry_host}/team/app:v1")
    assert json.loads(inspected.stdout)["Digest"] == str(pushed.digest)
    assert not list((root / "images" / "ingest").iterdir())


def test_push_and_skopeo_reads_back_identical_digest(tmp_path, pyreg, skopeo, registry_host, root):
    pushed = build_layout(tmp_path / "src", [300_000, 9_000_000])  # each by sendfile
    skopeo("copy", f"oci:{tmp_path}/src:latest", f"docker://{registry_host}/a/src:v1",
           "--dest-tls-verify=false")
    assert pyreg("pull", "-q", f"{registry_host}/a/src:v1").code == 0
    result = pyreg("push", f"{registry_host}/a/src:v1", f"{registry_host}/b/copy:v2")
    assert result.code == 0, result.err
    assert str(pushed.digest) in result.out
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{registry_host}/b/copy:v2")
    assert OciLayout(tmp_path / "src").read_blob(pushed.digest) == raw.stdout.encode()
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry_host}/b/copy:v2",
           f"oci:{tmp_path}/back:v2")
    assert OciLayout(tmp_path / "back").resolve("v2").digest == pushed.digest


def test_pull_index_picks_host_platform_or_all(tmp_path, pyreg, skopeo, registry_host, root):
    index = write_index(OciLayout(tmp_path / "multi"), ["amd64", "arm64"])
    skopeo("copy", "--all", f"oci:{tmp_path}/multi:latest", f"docker://{registry_host}/m/x:1",
           "--dest-tls-verify=false")
    store = LocalStore(root)
    assert pyreg("pull", "-q", f"{registry_host}/m/x:1").code == 0
    named = store.layout.resolve(f"{registry_host}/m/x:1")
    _, manifest, config = store.resolve_image(f"{registry_host}/m/x:1")
    assert not store.read_manifest(named).is_index
    assert config["architecture"] == host_platform_value().architecture
    assert pyreg("pull", "-q", "--platform", "linux/arm64", f"{registry_host}/m/x:1").code == 0
    assert store.resolve_image(f"{registry_host}/m/x:1")[2]["architecture"] == "arm64"
    assert pyreg("pull", "-q", "--all-platforms", f"{registry_host}/m/x:1").code == 0
    assert store.layout.resolve(f"{registry_host}/m/x:1").digest == index.digest
    missing = pyreg("pull", "--platform", "linux/s390x", f"{registry_host}/m/x:1")
    assert missing.code == 1 and "s390x" in missing.err and "\n" == missing.err[-1]
    # push of an index pushes its children first; skopeo gets the same index back
    assert pyreg("push", f"{registry_host}/m/x:1", f"{registry_host}/m/y:1").code == 0
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{registry_host}/m/y:1").stdout
    assert raw.encode() == OciLayout(tmp_path / "multi").read_blob(index.digest)


def test_copy_between_repositories_mounts_blobs(tmp_path, pyreg, skopeo, registry_host):
    pushed = build_layout(tmp_path / "src", [50_000, 60_000])
    skopeo("copy", f"oci:{tmp_path}/src:latest", f"docker://{registry_host}/one/img:t",
           "--dest-tls-verify=false")
    result = pyreg("copy", f"docker://{registry_host}/one/img:t", f"{registry_host}/two/img:t")
    assert result.code == 0, result.err
    assert result.err.count("mounted") == 3  # config + two layers, no bytes moved
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{registry_host}/two/img:t")
    assert json.loads(raw.stdout)["config"]["digest"] == \
        json.loads(OciLayout(tmp_path / "src").read_blob(pushed.digest))["config"]["digest"]
    # and out to an OCI layout that skopeo reads
    assert pyreg("copy", f"{registry_host}/two/img:t", f"oci:{tmp_path}/out:mytag").code == 0
    assert json.loads(skopeo("inspect", f"oci:{tmp_path}/out:mytag").stdout)["Digest"] == \
        str(pushed.digest)


def test_tags_delete_and_remote_inspect(tmp_path, pyreg, skopeo, registry_host):
    build_layout(tmp_path / "src", [1000])
    for tag in ("a", "b", "c"):
        skopeo("copy", f"oci:{tmp_path}/src:latest", f"docker://{registry_host}/t/r:{tag}",
               "--dest-tls-verify=false")
    listed = pyreg("tags", f"{registry_host}/t/r")
    assert listed.code == 0 and sorted(listed.out.split()) == ["a", "b", "c"]
    inspected = pyreg("inspect", "--remote", f"{registry_host}/t/r:a")
    assert json.loads(inspected.out)["Config"]["architecture"] == "amd64"
    deleted = pyreg("delete", f"{registry_host}/t/r:b")
    assert deleted.code == 0, deleted.err
    gone = pyreg("inspect", "--remote", f"{registry_host}/t/r:b")
    assert gone.code == 1 and "not found" in gone.err


def test_umoci_unpacks_what_pyreg_pulled(tmp_path, pyreg, skopeo, registry_host, root):
    umoci = require_binary("umoci", "umoci")
    build_layout(tmp_path / "src", [10_000, 20_000])
    skopeo("copy", f"oci:{tmp_path}/src:latest", f"docker://{registry_host}/u/m:1",
           "--dest-tls-verify=false")
    assert pyreg("pull", "-q", f"{registry_host}/u/m:1").code == 0
    listed = subprocess.run([umoci, "ls", "--layout", f"{root}/images"], capture_output=True,
                            text=True, check=True).stdout
    assert f"{registry_host}/u/m:1" in listed.split()
    flags = [] if os.geteuid() == 0 else ["--rootless"]
    subprocess.run([umoci, "unpack", *flags, "--image", f"{root}/images:{registry_host}/u/m:1",
                    str(tmp_path / "bundle")], capture_output=True, check=True)
    assert (tmp_path / "bundle" / "rootfs" / "layer1.bin").stat().st_size == 20_000
