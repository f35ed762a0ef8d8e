"""`pyreg serve` as a command: a real process, TLS from config, one-line errors,
and a configuration it does not implement refused before anything listens."""
from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.support.processes import free_port, terminating
from tests.support.pyreg_server import REPO_ROOT, pyreg_process


def serve(*args: str, timeout: float = 20, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyreg_cli.main", "serve", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_bad_address_is_one_line():
    result = serve("--addr", "not-an-address")
    assert result.returncode == 2
    assert result.stderr == "pyreg: invalid --addr 'not-an-address': want HOST:PORT\n"


# The keys the issue names: serving without them would be anonymous, writable
# or not a mirror, without the operator knowing.
REFUSED_YAML = {
    "auth.silly": "auth:\n  silly: {realm: r, service: s}\n",
    "http.tls.ciphersuites": "http:\n  tls:\n    ciphersuites: [TLS_AES_128_GCM_SHA256]\n",
    "compatibility.schema1.enabled": "compatibility:\n  schema1: {enabled: true}\n",
    "health.http": "health:\n  http: [{uri: 'http://127.0.0.1:1/'}]\n",
}
REFUSED_ENV = {
    "auth.silly": {"REGISTRY_AUTH": "silly", "REGISTRY_AUTH_SILLY_REALM": "r"},
    "http.tls.ciphersuites": {"REGISTRY_HTTP_TLS_CIPHERSUITES": "[TLS_AES_128_GCM_SHA256]"},
    "compatibility.schema1.enabled": {"REGISTRY_COMPATIBILITY_SCHEMA1_ENABLED": "true"},
}


@pytest.mark.parametrize("key", sorted(REFUSED_YAML))
def test_unimplemented_key_in_config_file_stops_start_up(tmp_path, key):
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text("version: 0.1\n" + REFUSED_YAML[key])
    result = serve("--config", str(config), "--addr", f"127.0.0.1:{port}", "--storage", str(tmp_path / "s"))
    assert result.returncode == 2, result.stderr
    assert result.stderr == (f"pyreg: config key {key} is not supported yet; "
                             "pyreg does not start rather than serve without it\n")
    assert not listening(port) and not (tmp_path / "s").exists()


@pytest.mark.parametrize("key", sorted(REFUSED_ENV))
def test_unimplemented_key_in_environment_stops_start_up(tmp_path, key):
    port = free_port()
    result = serve("--addr", f"127.0.0.1:{port}", "--storage", str(tmp_path / "s"), env=REFUSED_ENV[key])
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"pyreg: config key {key} (from REGISTRY_")
    assert "is not supported yet" in lines[0] and not listening(port)


def test_a_typo_is_refused_with_a_suggestion(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("storage:\n  maintenance:\n    readonly:\n      enable: true\n")
    result = serve("--config", str(config))
    assert result.returncode == 2
    assert result.stderr == ("pyreg: unknown config key storage.maintenance.readonly.enable; "
                             "did you mean storage.maintenance.readonly.enabled?\n")
    result = serve(env={"REGISTRY_HTTP_RELATIVEURL": "true"})
    assert result.returncode == 2
    assert result.stderr == ("pyreg: unknown setting REGISTRY_HTTP_RELATIVEURL (http.relativeurl); "
                             "did you mean REGISTRY_HTTP_RELATIVEURLS?\n")


def test_a_key_without_effect_warns_and_serves(tmp_path):
    log = tmp_path / "stderr"
    with open(log, "wb") as stderr, \
            pyreg_process(tmp_path / "s", env={"REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR": "inmemory"},
                          stderr=stderr) as (url, _process):
        assert urllib.request.urlopen(f"{url}/v2/").status == 200
    first = log.read_text().splitlines()[0]
    assert first == ("pyreg: warning: config key storage.cache.blobdescriptor (from "
                     "REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR) has no effect on pyreg: pyreg keeps its "
                     "own in-memory caches of immutable content")


def test_taken_port_is_one_line(tmp_path):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve("--addr", f"127.0.0.1:{port}", "--storage", str(tmp_path))
    assert result.returncode == 1
    assert "cannot serve on" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_config_file_is_one_line(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("storage:\n  azure: {accountname: a}\n")
    result = serve("--config", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith("pyreg: config key storage.azure is not supported yet;")


def test_tls_from_config(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text(f"http:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {cert}\n"
                      f"    key: {key}\n    minimumtls: tls1.3\n"
                      f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'data'}\n")
    process = subprocess.Popen([sys.executable, "-m", "pyreg_cli.main", "serve", "--config", str(config)],
                               cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with terminating(process):
        context = ssl.create_default_context(cafile=str(cert))
        with _open_when_up(f"https://127.0.0.1:{port}/v2/", context, process) as response:
            assert response.status == 200 and json.load(response) == {}
            assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
        old_client = ssl.create_default_context(cafile=str(cert))
        old_client.maximum_version = ssl.TLSVersion.TLSv1_2  # http.tls.minimumtls: tls1.3 refuses it
        with pytest.raises(urllib.error.URLError) as refused:
            urllib.request.urlopen(f"https://127.0.0.1:{port}/v2/", context=old_client, timeout=5)
        assert isinstance(refused.value.reason, ssl.SSLError)


def _open_when_up(url: str, context: ssl.SSLContext, process: subprocess.Popen):
    deadline = time.monotonic() + 20
    while True:
        assert process.poll() is None, "pyreg serve exited"
        try:
            return urllib.request.urlopen(url, context=context, timeout=2)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_bad_storage_is_one_line(tmp_path, workers):
    config = tmp_path / "config.yml"
    config.write_text(f"http:\n  addr: 127.0.0.1:{free_port()}\nstorage:\n  s3:\n    region: x\n")
    result = serve("--config", str(config), "--workers", workers)
    assert result.returncode == 2
    assert result.stderr == "pyreg: storage.s3.bucket is required\n"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_storage_that_cannot_be_opened_is_one_line(tmp_path, workers):
    (tmp_path / "file").write_text("")
    result = serve("--storage", str(tmp_path / "file" / "root"), "--addr", f"127.0.0.1:{free_port()}",
                   "--workers", workers)
    assert result.returncode == 1
    assert result.stderr == "pyreg: cannot open filesystem storage: Not a directory\n"
