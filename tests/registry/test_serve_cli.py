"""`pyreg serve` as a command: a real process, TLS from config, one-line errors."""
from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.processes import free_port, terminating
from tests.support.pyreg_server import REPO_ROOT


def serve(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyreg_cli.main", "serve", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_bad_address_is_one_line():
    result = serve("--addr", "not-an-address")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("pyreg: invalid address")
    assert len(result.stderr.strip().splitlines()) == 1


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
    config.write_text("storage:\n  azure: {}\n")
    result = serve("--config", str(config))
    assert result.returncode == 1
    assert result.stderr.strip() == "pyreg: unsupported storage driver 'azure'"


def test_tls_from_config(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text(f"http:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {cert}\n"
                      f"    key: {key}\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path / 'data'}\n")
    process = subprocess.Popen([sys.executable, "-m", "pyreg_cli.main", "serve", "--config", str(config)],
                               cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with terminating(process):
        context = ssl.create_default_context(cafile=str(cert))
        with _open_when_up(f"https://127.0.0.1:{port}/v2/", context, process) as response:
            assert response.status == 200 and json.load(response) == {}
            assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"


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
    assert result.returncode == 1
    assert result.stderr.strip() == "pyreg: invalid storage configuration: storage.s3.bucket is required"
