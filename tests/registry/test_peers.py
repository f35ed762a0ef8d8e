"""Real peers: skopeo pushes to and pulls from a `pyreg serve` process, and
Distribution 2.8.2 and pyreg serve each other's storage directories."""
from __future__ import annotations

import hashlib
import json
import urllib.request

from ocispec import mediatypes as mt
from tests.support.processes import distribution_registry
from tests.support.pyreg_server import pyreg_server

from .oci_image import build_layout, layout_blobs
from .skopeo import Skopeo


def _assert_same_image(skopeo: Skopeo, url: str, source, pulled, digest: str) -> None:
    raw = skopeo.raw_manifest(url, "team/app:v1")
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
    index = json.loads((pulled / "index.json").read_text())
    assert [entry["digest"] for entry in index["manifests"]] == [digest]
    assert layout_blobs(pulled) == layout_blobs(source)


def test_skopeo_push_and_pull_round_trip(tmp_path):
    skopeo = Skopeo(tmp_path)
    source = tmp_path / "source"
    digest = build_layout(source)
    with pyreg_server(tmp_path / "storage") as url:
        skopeo.push(source, "v1", url, "team/app")
        skopeo.pull(url, "team/app", "v1", tmp_path / "pulled")
        _assert_same_image(skopeo, url, source, tmp_path / "pulled", digest)
        tags = json.load(urllib.request.urlopen(f"{url}/v2/team/app/tags/list"))
        assert tags == {"name": "team/app", "tags": ["v1"]}


def test_docker_schema2_and_cross_repository_mount(tmp_path):
    skopeo = Skopeo(tmp_path)
    source = tmp_path / "source"
    build_layout(source)
    with pyreg_server(tmp_path / "storage") as url:
        skopeo.run("copy", "--format", "v2s2", "--dest-tls-verify=false", f"oci:{source}:v1",
                   f"docker://{url[7:]}/team/app:v1")
        raw = skopeo.raw_manifest(url, "team/app:v1")
        assert json.loads(raw)["mediaType"] == mt.DOCKER_MANIFEST
        blobs_before = sorted((tmp_path / "storage").rglob("blobs/sha256/*/*/data"))
        skopeo.run("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                   f"docker://{url[7:]}/team/app:v1", f"docker://{url[7:]}/other/copy:v1")
        assert skopeo.raw_manifest(url, "other/copy:v1") == raw
        assert sorted((tmp_path / "storage").rglob("blobs/sha256/*/*/data")) == blobs_before


def _push_signature(url: str, repo: str, subject_digest: str, subject_size: int) -> str:
    """A referrer (cosign-like) of the pushed image, through pyreg's API."""
    config = b"{}"
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    request = urllib.request.Request(f"{url}/v2/{repo}/blobs/uploads/?digest={config_digest}",
                                     data=config, method="POST")
    assert urllib.request.urlopen(request).status == 201
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "artifactType": "application/x-sig",
        "config": {"mediaType": mt.OCI_EMPTY, "digest": config_digest, "size": 2}, "layers": [],
        "subject": {"mediaType": mt.OCI_MANIFEST, "digest": subject_digest, "size": subject_size},
    }).encode()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    request = urllib.request.Request(f"{url}/v2/{repo}/manifests/{digest}", data=manifest, method="PUT",
                                     headers={"Content-Type": mt.OCI_MANIFEST})
    assert urllib.request.urlopen(request).headers["OCI-Subject"] == subject_digest
    return digest


def test_distribution_serves_what_pyreg_wrote(tmp_path):
    skopeo = Skopeo(tmp_path)
    source, root = tmp_path / "source", tmp_path / "root"
    digest = build_layout(source)
    with pyreg_server(root) as url:
        skopeo.push(source, "v1", url, "team/app")
        size = len(skopeo.raw_manifest(url, "team/app:v1"))
        signature = _push_signature(url, "team/app", digest, size)
    assert list(root.rglob("_referrers")), "pyreg keeps its referrers index beside the layout"
    with distribution_registry(root) as url:
        skopeo.pull(url, "team/app", "v1", tmp_path / "pulled")
        _assert_same_image(skopeo, url, source, tmp_path / "pulled", digest)
        catalog = json.load(urllib.request.urlopen(f"{url}/v2/_catalog"))
        assert catalog["repositories"] == ["team/app"]
        raw = skopeo.raw_manifest(url, f"team/app@{signature}")
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == signature


def test_pyreg_serves_what_distribution_wrote(tmp_path):
    skopeo = Skopeo(tmp_path)
    source, root = tmp_path / "source", tmp_path / "root"
    digest = build_layout(source)
    with distribution_registry(root) as url:
        skopeo.push(source, "v1", url, "team/app")
    with pyreg_server(root) as url:
        skopeo.pull(url, "team/app", "v1", tmp_path / "pulled")
        _assert_same_image(skopeo, url, source, tmp_path / "pulled", digest)
        catalog = json.load(urllib.request.urlopen(f"{url}/v2/_catalog"))
        assert catalog["repositories"] == ["team/app"]
