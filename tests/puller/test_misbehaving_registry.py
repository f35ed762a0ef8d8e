"""Pulls from a real aiohttp registry on 127.0.0.1 that misbehaves on purpose."""
import pytest

from ocispec.layout import OciLayout
from puller.store import LocalStore
from tests.puller.builders import build_layout
from tests.puller.fake_registry import Behaviour, serve


@pytest.fixture
def source(tmp_path) -> OciLayout:
    build_layout(tmp_path / "served", [3_000_000, 20_000])
    return OciLayout(tmp_path / "served")


def blob_gets(behaviour: Behaviour) -> list[dict]:
    return [headers for method, path, headers in behaviour.requests
            if method == "GET" and "/blobs/" in path]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_interrupted_download_resumes_with_range(source, pyreg, root, chunked):
    behaviour = Behaviour(cut_after=1_000_000, chunked_blobs=chunked)
    with serve(source, behaviour) as host:
        result = pyreg("pull", f"{host}/r/img:latest")
    assert result.code == 0, result.err
    ranges = [h.get("Range") for h in blob_gets(behaviour) if h.get("Range")]
    assert len(ranges) == 1 and ranges[0].startswith("bytes=") and ranges[0] != "bytes=0-"
    assert int(ranges[0][6:-1]) > 0
    descriptor = LocalStore(root).layout.resolve(f"{host}/r/img:latest")
    assert descriptor.digest == source.resolve("latest").digest
    manifest = LocalStore(root).resolve_image(f"{host}/r/img:latest")[1]
    for layer in manifest.layers:
        assert LocalStore(root).layout.read_blob(layer.digest) == source.read_blob(layer.digest)


def test_partial_file_from_an_earlier_run_is_resumed(source, pyreg, root):
    layer = max(_layers(source), key=lambda d: d.size)
    ingest = root / "images" / "ingest"
    ingest.mkdir(parents=True)
    data = source.read_blob(layer.digest)
    (ingest / f"sha256-{layer.digest.encoded}.partial").write_bytes(data[:1234567])
    behaviour = Behaviour()
    with serve(source, behaviour) as host:
        assert pyreg("pull", "-q", f"{host}/r/img:latest").code == 0
    assert "bytes=1234567-" in [h.get("Range") for h in blob_gets(behaviour)]
    assert LocalStore(root).layout.read_blob(layer.digest) == data


def _layers(layout: OciLayout):
    from ocispec.manifest import parse_manifest
    return parse_manifest(layout.read_blob(layout.resolve("latest").digest)).layers


@pytest.mark.parametrize("status", [503, 429])
def test_busy_registry_is_retried(source, pyreg, root, status):
    behaviour = Behaviour(busy_first=2, busy_status=status)
    with serve(source, behaviour) as host:
        result = pyreg("pull", "-q", f"{host}/r/img:latest")
    assert result.code == 0, result.err
    assert LocalStore(root).layout.resolve(f"{host}/r/img:latest") is not None


def test_corrupt_blobs_are_never_stored(source, pyreg, root):
    with serve(source, Behaviour(corrupt_blobs=True)) as host:
        result = pyreg("pull", f"{host}/r/img:latest")
    assert result.code == 1
    assert "does not match" in result.err and len(result.err.strip().splitlines()) == 1
    layout = LocalStore(root).layout
    assert layout.index() == []
    assert list(layout.blob_digests()) == []
    # partial files left behind (by the downloads cancelled alongside) do not
    # poison the next pull: a resumed blob that fails is fetched again whole
    with serve(source) as host:
        result = pyreg("pull", "-q", f"{host}/r/img:latest")
    assert result.code == 0, result.err
    assert layout.resolve(f"{host}/r/img:latest").digest == source.resolve("latest").digest


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_blob_longer_than_its_descriptor_is_refused(source, pyreg, root, chunked):
    """Refused before the excess is stored, announced (Content-Length) or
    not (chunked): no blob, and nothing that spoils the next pull."""
    with serve(source, Behaviour(overlong_blobs=10, chunked_blobs=chunked)) as host:
        result = pyreg("pull", f"{host}/r/img:latest")
    assert result.code == 1 and "longer than the" in result.err, result.err
    layout = LocalStore(root).layout
    assert layout.index() == [] and list(layout.blob_digests()) == []
    with serve(source) as host:
        assert pyreg("pull", "-q", f"{host}/r/img:latest").code == 0
    assert layout.resolve(f"{host}/r/img:latest").digest == source.resolve("latest").digest


def test_copy_of_a_blob_longer_than_its_descriptor_never_reaches_the_destination(
        source, pyreg, distribution):
    target = distribution.split("//")[1]
    with serve(source, Behaviour(overlong_blobs=1)) as host:
        result = pyreg("copy", f"{host}/r/img:latest", f"{target}/x/long:1")
    assert result.code == 1 and "longer than the" in result.err, result.err
    assert pyreg("inspect", "--remote", f"{target}/x/long:1").code == 1


def test_bearer_token_flow_with_credentials(source, pyreg, root):
    behaviour = Behaviour(bearer_token="sekrit", token_credentials=("alice", "pw"))
    with serve(source, behaviour) as host:
        denied = pyreg("pull", f"{host}/r/img:latest")
        assert denied.code == 1 and "pyreg login" in denied.err
        wrong = pyreg("login", "-u", "alice", "-p", "nope", host)
        assert wrong.code == 1 and "wrong username or password" in wrong.err
        assert pyreg("login", "-u", "alice", "-p", "pw", host).code == 0
        behaviour.requests.clear()
        assert pyreg("pull", "-q", f"{host}/r/img:latest").code == 0
    token_requests = [p for m, p, h in behaviour.requests if p.startswith("/token")]
    assert len(token_requests) == 1  # cached for every later request of the same scope
    assert "scope=repository:r/img:pull" in token_requests[0]
    assert all(h.get("Authorization") == "Bearer sekrit"
               for m, p, h in behaviour.requests if "/blobs/" in p)


def test_tag_list_follows_link_pagination(source, pyreg):
    tags = [f"t{i:03d}" for i in range(25)]
    behaviour = Behaviour(tags=tags, page_size=10)
    with serve(source, behaviour) as host:
        result = pyreg("tags", f"{host}/r/img")
    assert result.out.split() == tags
    assert len([p for m, p, h in behaviour.requests if "/tags/list" in p]) == 3


@pytest.mark.parametrize("ref, message", [
    ("{host}/r/img:nothing", "not found"),
    ("{host}/r/img@sha256:" + "0" * 64, "not found"),
    ("{host}/UPPER/case:x", "invalid"),
    ("{host}/r/img:bad tag", "invalid"),
])
def test_bad_references_fail_with_one_line(source, pyreg, root, ref, message):
    with serve(source) as host:
        result = pyreg("pull", ref.format(host=host))
    assert result.code == 1
    assert message in result.err.lower() and len(result.err.strip().splitlines()) == 1
    assert LocalStore(root).images() == []


def test_blob_redirect_drops_credentials_for_another_host(source, pyreg, root):
    storage = Behaviour()  # plays the part of S3 behind a presigned URL
    with serve(source, storage) as storage_host:
        registry = Behaviour(bearer_token="tok", redirect_blobs_to=f"http://{storage_host}")
        with serve(source, registry) as host:
            result = pyreg("pull", "-q", f"{host}/r/img:latest")
    assert result.code == 0, result.err
    fetched = [h for m, p, h in storage.requests if p.startswith("/blobs/")]
    assert len(fetched) == 3
    assert all("Authorization" not in h for h in fetched)
    assert LocalStore(root).layout.resolve(f"{host}/r/img:latest") is not None


@pytest.mark.parametrize("garbage, message", [
    (b"{not json", "not valid json"),
    (b'{"schemaVersion": 1}', "schemaversion must be 2"),
    (b'{"schemaVersion": 2, "config": {"digest": "md5:x", "size": 1, "mediaType": "a"}}',
     "invalid digest"),
])
def test_garbage_manifest_is_one_line_and_stores_nothing(source, pyreg, root, garbage, message):
    with serve(source, Behaviour(garbage_manifest=garbage)) as host:
        result = pyreg("pull", f"{host}/r/img:latest")
    assert result.code == 1 and message in result.err.lower(), result.err
    assert len(result.err.strip().splitlines()) == 1
    assert LocalStore(root).images() == []


def test_manifest_digest_mismatch_is_refused(source, pyreg, root):
    wrong = "sha256:" + "1" * 64
    with serve(source, Behaviour(garbage_manifest=source.read_blob(source.resolve("latest").digest))) as host:
        result = pyreg("pull", f"{host}/r/img@{wrong}")
    assert result.code == 1 and "expected " + wrong in result.err
    assert LocalStore(root).images() == []


def test_unreachable_registry_fails_fast(pyreg):
    from tests.support.processes import free_port
    import time
    started = time.monotonic()
    result = pyreg("pull", f"127.0.0.1:{free_port()}/a/b:c")
    assert result.code == 1 and "cannot reach" in result.err
    assert time.monotonic() - started < 5


def test_tls_registry_with_ca_cert(source, pyreg, root, tmp_path):
    from tests.puller.tls import self_signed, server_context
    cert, key = self_signed(tmp_path, "registry")
    stranger, _ = self_signed(tmp_path, "stranger")
    behaviour = Behaviour()
    with serve(source, behaviour, server_context(cert, key)) as host:
        trusted = pyreg("pull", "-q", "--ca-cert", str(cert), f"{host}/r/img:latest")
        untrusted = pyreg("pull", "--ca-cert", str(stranger), f"{host}/r/img:v2")
    assert trusted.code == 0, trusted.err
    assert any("/blobs/" in p for m, p, h in behaviour.requests)  # the server only speaks TLS
    assert untrusted.code == 1 and "not trusted" in untrusted.err
    assert len(untrusted.err.strip().splitlines()) == 1


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB tmpfs: a real full disk (needs root and mount rights)."""
    import subprocess
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def test_full_disk_is_one_line_and_names_nothing(source, tiny_disk, capsys, monkeypatch):
    import pyreg_cli.main as cli_main
    monkeypatch.setattr(cli_main, "VERB_MODULES", ("pyreg_cli.images",))
    with serve(source) as host:
        code = cli_main.main(["--root", str(tiny_disk), "pull", "-q", f"{host}/r/img:latest"])
    err = capsys.readouterr().err
    assert code == 1 and "no space left on device" in err and len(err.strip().splitlines()) == 1
    assert LocalStore(tiny_disk).layout.index() == []


@pytest.mark.parametrize("size", [10_000_000, 5000], ids=["many-chunks", "one-chunk"])
def test_copy_of_corrupt_blobs_never_reaches_the_destination(tmp_path, pyreg, distribution, size):
    import time
    import urllib.error
    import urllib.request
    build_layout(tmp_path / "big", [size])
    served = OciLayout(tmp_path / "big")
    target = distribution.split("//")[1]
    started = time.monotonic()
    with serve(served, Behaviour(corrupt_blobs=True)) as host:
        result = pyreg("copy", f"{host}/r/img:latest", f"{target}/x/y:1")
    assert result.code == 1 and "does not match" in result.err, result.err
    assert time.monotonic() - started < 5  # a bad source is not retried as if the network failed
    assert pyreg("inspect", "--remote", f"{target}/x/y:1").code == 1
    for layer in _layers(served):
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(urllib.request.Request(
                f"{distribution}/v2/x/y/blobs/{layer.digest}", method="HEAD"))
        assert missing.value.code == 404


def test_empty_and_tiny_blobs(tmp_path, pyreg, root):
    import json
    from ocispec import mediatypes as mt
    from ocispec.descriptor import Descriptor
    layout = OciLayout(tmp_path / "tiny").init()
    empty = Descriptor(mt.OCI_LAYER, layout.write_blob(b""), 0)
    config = Descriptor(mt.OCI_EMPTY, layout.write_blob(b"{}"), 2)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                           "config": config.to_json(), "layers": [empty.to_json()]}).encode()
    layout.set_ref("latest", Descriptor(mt.OCI_MANIFEST, layout.write_blob(manifest), len(manifest)))
    with serve(layout) as host:
        result = pyreg("pull", "-q", f"{host}/r/tiny:latest")
    assert result.code == 0, result.err
    store = LocalStore(root).layout
    assert store.read_blob(empty.digest) == b"" and store.read_blob(config.digest) == b"{}"


def test_copy_between_two_registries_streams_and_verifies(tmp_path, pyreg, distribution, skopeo,
                                                         monkeypatch):
    import puller.upload
    monkeypatch.setattr(puller.upload, "PATCH_SIZE", 4 << 20)  # the large layer in 3 PATCHes
    build_layout(tmp_path / "big", [9_000_000, 30_000])
    served = OciLayout(tmp_path / "big")
    target = distribution.split("//")[1]
    with serve(served) as host:
        result = pyreg("copy", f"{host}/r/img:latest", f"docker://{target}/x/y:1")
    assert result.code == 0, result.err
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{target}/x/y:1").stdout
    assert raw.encode() == served.read_blob(served.resolve("latest").digest)
    skopeo("copy", "--src-tls-verify=false", f"docker://{target}/x/y:1", f"oci:{tmp_path}/check:1")
