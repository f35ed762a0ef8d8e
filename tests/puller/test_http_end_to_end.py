"""The client's HTTP stack end to end against real Distribution 2.8.2: the
client never loads aiohttp, a registry's refusal reaches the user as the
registry's own error and leaves no upload session behind, and downloads are
flushed to disk behind the writer."""
import json
import subprocess
import sys
import textwrap

from ocispec.digest import Digest
from ocispec.layout import OciLayout
from tests.puller.builders import build_layout, live_upload_sessions
from tests.puller.test_store import load_layout_into_store
from tests.support.pyreg_server import REPO_ROOT

SCRIPT = textwrap.dedent("""
    import json, sys
    import pyreg_cli.main as cli
    cli.VERB_MODULES = ("pyreg_cli.images",)
    codes = [cli.main(args) for args in json.loads(sys.argv[1])]
    print(json.dumps({"codes": codes, "aiohttp": "aiohttp" in sys.modules}))
""")


def run_cli_process(*commands: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(commands)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_push_and_pull_never_load_aiohttp(tmp_path, pyreg, registry_host, root):
    image = build_layout(tmp_path / "src", [50_000, 3_000_000])
    load_layout_into_store(pyreg, tmp_path / "src", "localhost/fast:1")
    other_root = tmp_path / "other-root"
    ref = f"{registry_host}/fast/app:1"
    result = run_cli_process(["--root", str(root), "push", "-q", "localhost/fast:1", ref],
                             ["--root", str(other_root), "pull", "-q", ref])
    assert result == {"codes": [0, 0], "aiohttp": False}
    pulled = OciLayout(other_root / "images")
    assert pulled.resolve(ref).digest == image.digest
    for digest in OciLayout(tmp_path / "src").blob_digests():
        assert pulled.read_blob(digest) == OciLayout(tmp_path / "src").read_blob(digest)


def test_corrupt_local_blob_is_refused_with_the_registrys_error(tmp_path, pyreg, registry_host,
                                                                 root):
    image = build_layout(tmp_path / "src", [2_000_000])
    load_layout_into_store(pyreg, tmp_path / "src", "localhost/bad:1")
    manifest = json.loads(OciLayout(tmp_path / "src").read_blob(image.digest))
    layer = OciLayout(root / "images").blob_path(Digest.parse(manifest["layers"][0]["digest"]))
    data = bytearray(layer.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, wrong digest: only the registry can tell
    layer.chmod(0o644)
    layer.write_bytes(bytes(data))
    result = pyreg("push", "localhost/bad:1", f"{registry_host}/bad/app:1")
    assert result.code == 1
    assert "DIGEST_INVALID" in result.err and "Traceback" not in result.err
    assert pyreg("inspect", "--remote", f"{registry_host}/bad/app:1").code == 1
    assert live_upload_sessions(tmp_path / "distribution", "bad/app") == []  # cancelled (DELETE)


def test_download_is_flushed_to_disk_behind_the_writer(tmp_path, pyreg, registry_host, root,
                                                       skopeo, monkeypatch):
    import os

    import puller.layout_io
    image = build_layout(tmp_path / "src", [3_000_000])
    skopeo("copy", f"oci:{tmp_path}/src:latest", f"docker://{registry_host}/sync/app:1",
           "--dest-tls-verify=false")
    monkeypatch.setattr(puller.layout_io, "EARLY_SYNC", 256 * 1024)
    synced, real_fdatasync = [], os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (synced.append(fd), real_fdatasync(fd)))
    result = pyreg("pull", "-q", f"{registry_host}/sync/app:1")
    assert result.code == 0, result.err
    assert synced  # flushed while the 3 MB layer streamed in, not only at the end
    assert OciLayout(root / "images").resolve(f"{registry_host}/sync/app:1").digest == image.digest
