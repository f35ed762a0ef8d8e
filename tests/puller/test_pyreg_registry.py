"""The client against pyreg's own registry (`pyreg serve` as a real process),
with skopeo checking what arrived."""
import json

import pytest

from ocispec.layout import OciLayout
from puller.store import LocalStore
from tests.puller.builders import build_layout, live_upload_sessions, write_index
from tests.puller.fake_registry import Behaviour, serve
from tests.puller.test_store import load_layout_into_store
from tests.support.pyreg_server import pyreg_server


@pytest.fixture
def pyreg_host(tmp_path):
    with pyreg_server(tmp_path / "pyreg-registry") as url:
        yield url.split("//")[1]


def test_push_pull_copy_tags_delete(tmp_path, pyreg, skopeo, pyreg_host, root):
    image = build_layout(tmp_path / "src", [20_000, 9_500_000])  # a small and a larger PATCH
    load_layout_into_store(pyreg, tmp_path / "src", f"{pyreg_host}/p/app:1")
    pushed = pyreg("push", f"{pyreg_host}/p/app:1")
    assert pushed.code == 0, pushed.err
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{pyreg_host}/p/app:1").stdout
    assert raw.encode() == OciLayout(tmp_path / "src").read_blob(image.digest)
    copied = pyreg("copy", f"{pyreg_host}/p/app:1", f"{pyreg_host}/q/other:2")
    assert copied.code == 0 and copied.err.count("mounted") == 3, copied.err
    LocalStore(root).remove(f"{pyreg_host}/p/app:1")
    assert pyreg("pull", "-q", f"{pyreg_host}/q/other:2").code == 0
    assert LocalStore(root).layout.resolve(f"{pyreg_host}/q/other:2").digest == image.digest
    assert pyreg("tags", f"{pyreg_host}/q/other").out.split() == ["2"]
    assert pyreg("delete", f"{pyreg_host}/q/other:2").code == 0
    assert pyreg("inspect", "--remote", f"{pyreg_host}/q/other:2").code == 1


def test_multi_arch_index_round_trip(tmp_path, pyreg, skopeo, pyreg_host, root):
    index = write_index(OciLayout(tmp_path / "multi"), ["amd64", "arm64"])
    skopeo("copy", "--all", f"oci:{tmp_path}/multi:latest", f"docker://{pyreg_host}/m/x:1",
           "--dest-tls-verify=false")
    assert pyreg("pull", "-q", "--all-platforms", f"{pyreg_host}/m/x:1").code == 0
    assert LocalStore(root).layout.resolve(f"{pyreg_host}/m/x:1").digest == index.digest
    assert pyreg("push", f"{pyreg_host}/m/x:1", f"{pyreg_host}/m/y:1").code == 0
    remote = json.loads(pyreg("inspect", "--remote", f"{pyreg_host}/m/y:1").out)
    assert remote["Digest"] == str(index.digest) and sorted(remote["Platforms"]) == \
        ["linux/amd64", "linux/arm64"]


def test_a_copy_that_fails_midway_leaves_no_upload_session(tmp_path, pyreg, pyreg_host):
    """The source's bytes turn out wrong while they stream into PATCHes: each
    session is cancelled, and pyreg's storage keeps nothing of them."""
    build_layout(tmp_path / "big", [10_000_000, 5000])
    with serve(OciLayout(tmp_path / "big"), Behaviour(corrupt_blobs=True)) as source:
        result = pyreg("copy", f"{source}/r/img:latest", f"{pyreg_host}/x/y:1")
    assert result.code == 1 and "does not match" in result.err, result.err
    assert live_upload_sessions(tmp_path / "pyreg-registry", "x/y") == []
    assert pyreg("inspect", "--remote", f"{pyreg_host}/x/y:1").code == 1
