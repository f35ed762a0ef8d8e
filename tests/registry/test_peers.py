"""Real peers: skopeo pushes to and pulls from a `pyreg serve` process, and
Distribution 2.8.2 and pyreg serve each other's storage directories."""
from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
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


def _push_signature(url: str, repo: str, subject_digest: str, subject_size: int,
                    knows_subject: bool = True) -> str:
    """A referrer (cosign-like) of the pushed image, through pyreg's API."""
    config = b"{}"
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    # POST then PUT: Distribution 2.8.2 answers a one-request POST ?digest= with a session.
    start = urllib.request.urlopen(urllib.request.Request(f"{url}/v2/{repo}/blobs/uploads/", method="POST"))
    location = urllib.parse.urljoin(url, start.headers["Location"])
    separator = "&" if "?" in location else "?"
    request = urllib.request.Request(f"{location}{separator}digest={config_digest}", data=config,
                                     method="PUT", headers={"Content-Type": "application/octet-stream"})
    assert urllib.request.urlopen(request).status == 201
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "artifactType": "application/x-sig",
        "config": {"mediaType": mt.OCI_EMPTY, "digest": config_digest, "size": 2}, "layers": [],
        "subject": {"mediaType": mt.OCI_MANIFEST, "digest": subject_digest, "size": subject_size},
    }).encode()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    request = urllib.request.Request(f"{url}/v2/{repo}/manifests/{digest}", data=manifest, method="PUT",
                                     headers={"Content-Type": mt.OCI_MANIFEST})
    response = urllib.request.urlopen(request)
    assert response.status == 201
    if knows_subject:  # Distribution 2.8.2 predates the referrers API
        assert response.headers["OCI-Subject"] == subject_digest
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
        size = len(skopeo.raw_manifest(url, "team/app:v1"))
        signature = _push_signature(url, "team/app", digest, size, knows_subject=False)
    with pyreg_server(root) as url:
        skopeo.pull(url, "team/app", "v1", tmp_path / "pulled")
        _assert_same_image(skopeo, url, source, tmp_path / "pulled", digest)
        catalog = json.load(urllib.request.urlopen(f"{url}/v2/_catalog"))
        assert catalog["repositories"] == ["team/app"]
        # Distribution kept no referrers index: pyreg builds it on first use.
        referrers = json.load(urllib.request.urlopen(f"{url}/v2/team/app/referrers/{digest}"))
        assert [(m["digest"], m["artifactType"]) for m in referrers["manifests"]] == [
            (signature, "application/x-sig")]


def test_skopeo_through_s3_storage_with_redirects(tmp_path):
    """Blob GETs answer 307 to a presigned S3 URL; skopeo follows them."""
    import yaml

    from tests.support.moto_server import moto_s3_server
    skopeo = Skopeo(tmp_path)
    source = tmp_path / "source"
    digest = build_layout(source, layer_sizes=(1024 * 1024, 512))
    with moto_s3_server() as s3:
        storage = s3.storage_config(s3.create_bucket(), redirect=True)
        config = tmp_path / "config.yml"
        config.write_text(yaml.safe_dump({"storage": storage}))
        with pyreg_server(None, ["--config", str(config)]) as url:
            skopeo.push(source, "v1", url, "team/app")
            layer = json.loads(skopeo.raw_manifest(url, "team/app:v1"))["layers"][0]["digest"]
            opener = urllib.request.build_opener(_NoRedirect)
            try:
                opener.open(f"{url}/v2/team/app/blobs/{layer}")
                raise AssertionError("expected a redirect")
            except urllib.error.HTTPError as answer:
                assert answer.code == 307 and answer.headers["Location"].startswith(s3.url)
            skopeo.pull(url, "team/app", "v1", tmp_path / "pulled")
            _assert_same_image(skopeo, url, source, tmp_path / "pulled", digest)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
