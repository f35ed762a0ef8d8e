"""skopeo (containers/image) against pyreg: push from an OCI layout,
inspect, copy between two repositories of pyreg (which should mount the
blobs instead of uploading them again) and delete."""
from __future__ import annotations

import json

import pytest

from tests.e2e.peers import Skopeo


@pytest.fixture(scope="module")
def skopeo(tmp_path_factory) -> Skopeo:
    return Skopeo(tmp_path_factory.mktemp("skopeo"))


@pytest.fixture(scope="module")
def pushed(skopeo, registry, image) -> str:
    return skopeo.copy_to_registry(image.layout_source, f"{registry.host}/e2e/skopeo:1")


def _layers(image) -> list[str]:
    index = json.loads((image.layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = json.loads((image.layout / "blobs" / "sha256" / digest).read_text())
    return [layer["digest"] for layer in manifest["layers"]]


def test_push_keeps_the_layout_digest(pushed, registry, image):
    assert pushed == str(image.layout_digest)
    assert registry.manifest_digest("e2e/skopeo", "1") == pushed


def test_inspect(skopeo, pushed, registry, image):
    reference = f"docker://{registry.host}/e2e/skopeo:1"
    info = json.loads(skopeo("inspect", "--tls-verify=false", reference).stdout)
    assert info["Digest"] == pushed
    assert info["Layers"] == _layers(image)
    assert info["RepoTags"] == ["1"]
    raw = skopeo("inspect", "--tls-verify=false", "--raw", reference).stdout.encode()
    assert raw == (image.layout / "blobs" / "sha256" / pushed.split(":", 1)[1]).read_bytes()


def test_copy_between_repositories_mounts_the_blobs(skopeo, pushed, registry, image):
    skopeo("copy", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
           f"docker://{registry.host}/e2e/skopeo:1", f"docker://{registry.host}/e2e/skopeo-copy:1")
    assert registry.manifest_digest("e2e/skopeo-copy", "1") == pushed
    layer = _layers(image)[0]
    assert registry.status(f"/v2/e2e/skopeo-copy/blobs/{layer}") == 200
    requests = registry.requests()
    mounts = [r for r in requests if r.method == "POST" and r.status == 201
              and r.path == "/v2/e2e/skopeo-copy/blobs/uploads/" and r.query.get("mount") == layer]
    assert mounts, f"no cross-repository mount of {layer}: {requests[-12:]}"
    assert registry.status(f"/v2/{mounts[0].query.get('from')}/blobs/{layer}") == 200
    uploads = [r for r in requests if r.path.startswith("/v2/e2e/skopeo-copy/")
               and r.method == "PUT" and r.query.get("digest") == layer]
    assert uploads == [], "the layer was uploaded again instead of mounted"


def test_delete_removes_the_manifest_from_one_repository_only(skopeo, pushed, registry):
    target = f"{registry.host}/e2e/skopeo-delete:1"
    skopeo("copy", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
           f"docker://{registry.host}/e2e/skopeo:1", f"docker://{target}")
    assert registry.status(f"/v2/e2e/skopeo-delete/manifests/{pushed}") == 200
    skopeo("delete", "--tls-verify=false", f"docker://{target}")
    assert registry.status(f"/v2/e2e/skopeo-delete/manifests/{pushed}") == 404
    assert registry.status("/v2/e2e/skopeo-delete/manifests/1") == 404
    assert registry.status(f"/v2/e2e/skopeo/manifests/{pushed}") == 200
