"""Which certificates pyreg's client trusts and presents, against the
registry app over real TLS on 127.0.0.1: `--ca-cert` and docker's
`certs.d/<host:port>/ca.crt` (a loopback registry is verified once a CA is
given for it), `client.cert`/`client.key` for mutual TLS, and the system's
trust store kept beside both."""
from __future__ import annotations

import ssl

import pytest

from puller.http.tls import TlsPolicy
from registry.app import make_app
from registry.certificates import (certificate_hosts, certificate_pem, ensure_self_signed,
                                   private_key_pem)
from registry.tls import server_ssl_context
from storage_backends.memory import MemoryDriver
from tests.puller.builders import build_layout
from tests.puller.fake_registry import serve_app
from tests.puller.test_store import load_layout_into_store
from tests.registry.auth.signers import Signer, issued_certificate, new_key


@pytest.fixture
def server_tls(tmp_path):
    return ensure_self_signed(tmp_path / "server-tls", certificate_hosts("127.0.0.1"))


@pytest.fixture
def stranger(tmp_path):
    return ensure_self_signed(tmp_path / "stranger-tls", certificate_hosts("127.0.0.1")).certificate


@pytest.fixture
def image(tmp_path, pyreg):
    build_layout(tmp_path / "src", [20_000, 3_000])


def push(pyreg, tmp_path, host: str, *flags: str):
    load_layout_into_store(pyreg, tmp_path / "src", f"{host}/tls/app:1")
    return pyreg("push", "-q", *flags, f"{host}/tls/app:1")


def certs_d(tmp_path, monkeypatch, host: str, **files: bytes):
    folder = tmp_path / "certs.d" / host
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name.replace("_", ".")).write_bytes(data)
    monkeypatch.setenv("PYREG_CERTS_D", str(tmp_path / "certs.d"))


def test_ca_cert_is_checked_for_a_loopback_registry(tmp_path, pyreg, image, server_tls, stranger):
    context = server_ssl_context(str(server_tls.certificate), str(server_tls.key))
    with serve_app(make_app(driver=MemoryDriver()), context) as host:
        refused = push(pyreg, tmp_path, host, "--ca-cert", str(stranger))
        assert refused.code == 1 and f"TLS certificate of {host} is not trusted" in refused.err
        trusted = push(pyreg, tmp_path, host, "--ca-cert", str(server_tls.certificate))
        assert trusted.code == 0, trusted.err


def test_certs_d_ca_crt_is_the_hosts_trust(tmp_path, pyreg, image, server_tls, stranger,
                                           monkeypatch):
    context = server_ssl_context(str(server_tls.certificate), str(server_tls.key))
    with serve_app(make_app(driver=MemoryDriver()), context) as host:
        certs_d(tmp_path, monkeypatch, host, ca_crt=stranger.read_bytes())
        refused = push(pyreg, tmp_path, host)
        assert refused.code == 1 and "not trusted" in refused.err
        certs_d(tmp_path, monkeypatch, host, ca_crt=server_tls.certificate.read_bytes())
        assert push(pyreg, tmp_path, host).code == 0


def test_certs_d_client_certificate_for_mutual_tls(tmp_path, pyreg, image, server_tls,
                                                   monkeypatch):
    clients = Signer.root("ec")
    (tmp_path / "clients.pem").write_bytes(certificate_pem(clients.certificate))
    context = server_ssl_context(str(server_tls.certificate), str(server_tls.key),
                                 [str(tmp_path / "clients.pem")])
    key = new_key("ec")
    certificate = issued_certificate(key, "pyreg client", clients.key, clients.certificate)
    with serve_app(make_app(driver=MemoryDriver()), context) as host:
        certs_d(tmp_path, monkeypatch, host, ca_crt=server_tls.certificate.read_bytes())
        refused = push(pyreg, tmp_path, host)
        assert refused.code == 1 and len(refused.err.strip().splitlines()) == 1
        assert "client certificate" in refused.err, refused.err
        certs_d(tmp_path, monkeypatch, host, client_cert=certificate_pem(certificate),
                client_key=private_key_pem(key))
        pushed = push(pyreg, tmp_path, host)
        assert pushed.code == 0, pushed.err


def test_a_client_certificate_without_its_key_is_one_line(tmp_path, pyreg, image, monkeypatch):
    certs_d(tmp_path, monkeypatch, "127.0.0.1:1", client_cert=b"")
    result = pyreg("tags", "127.0.0.1:1/tls/app")
    assert result.code == 1 and "has no key client.key beside it" in result.err


def test_system_trust_store_is_kept_beside_extra_cas(tmp_path):
    system = ssl.create_default_context().get_ca_certs()
    if not system:
        pytest.skip("no system CA bundle here")
    given, per_host = Signer.root("ec"), Signer.root("ec")
    (tmp_path / "given.pem").write_bytes(certificate_pem(given.certificate))
    certs = tmp_path / "certs.d" / "registry.example.test:5000"
    certs.mkdir(parents=True)
    (certs / "ca.crt").write_bytes(certificate_pem(per_host.certificate))
    policy = TlsPolicy(ca_cert=str(tmp_path / "given.pem"), directories=[tmp_path / "certs.d"])
    assert len(policy.context("registry.example.test:5000").get_ca_certs()) == len(system) + 2
    assert len(policy.context("elsewhere.example.test").get_ca_certs()) == len(system) + 1
