"""TLS material: the self-signed certificate made once and reused, and the
server context with mutual TLS, checked with Python's ssl (strict), the
openssl CLI and Go (skopeo, docker's certs.d convention)."""
import datetime
import os
import shutil
import socket
import ssl
import stat
import subprocess

import pytest
from aiohttp import web
from cryptography import x509

from registry.certificates import (CERTIFICATE_NAME, KEY_NAME, certificate_hosts, certificate_pem,
                                   ensure_self_signed, private_key_pem, self_signed_certificate)
from registry.tls import TLSError, server_ssl_context
from tests.puller.fake_registry import serve_app
from tests.registry.auth.signers import issued_certificate, new_key
from tests.support.processes import require_binary

HOSTS = certificate_hosts("127.0.0.1")


async def hello(request: web.Request) -> web.Response:
    return web.json_response({})


def hello_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/v2/", hello)
    return app


def get(host: str, context: ssl.SSLContext, name: str = "localhost") -> bytes:
    address, port = host.rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            tls.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return tls.recv(100)


def strict_client(cafile) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cafile))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


def test_made_once_with_private_key_and_reused(tmp_path):
    made = ensure_self_signed(tmp_path / "tls", HOSTS)
    assert made.created
    assert stat.S_IMODE(os.stat(made.key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "tls").st_mode) == 0o700
    cert = x509.load_pem_x509_certificate(made.certificate.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost"} <= set(names.get_values_for_type(x509.DNSName))
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1", "::1"}
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    before = (made.certificate.read_bytes(), made.key.read_bytes())
    again = ensure_self_signed(tmp_path / "tls", HOSTS)
    assert not again.created and (again.certificate.read_bytes(), again.key.read_bytes()) == before
    moved = ensure_self_signed(tmp_path / "tls", certificate_hosts("192.0.2.10"))
    assert moved.created and moved.certificate.read_bytes() != before[0]
    assert not list((tmp_path / "tls").glob(".registry*"))      # no temporary file left


def test_a_broken_pair_is_made_again(tmp_path):
    made = ensure_self_signed(tmp_path, HOSTS)
    made.key.write_bytes(private_key_pem(new_key("ec")))          # a key of another certificate
    assert ensure_self_signed(tmp_path, HOSTS).created
    key = new_key("ec")
    expired = self_signed_certificate(key, "old", HOSTS, validity=-datetime.timedelta(seconds=10))
    (tmp_path / CERTIFICATE_NAME).write_bytes(certificate_pem(expired))
    (tmp_path / KEY_NAME).write_bytes(private_key_pem(key))
    assert ensure_self_signed(tmp_path, HOSTS).created


def test_python_strict_and_openssl_clients_trust_it(tmp_path):
    made = ensure_self_signed(tmp_path / "tls", HOSTS)
    context = server_ssl_context(str(made.certificate), str(made.key))
    with serve_app(hello_app(), context) as host:
        assert get(host, strict_client(made.certificate)).startswith(b"HTTP/1.1 200")
        assert get(host, strict_client(made.certificate), "127.0.0.1").startswith(b"HTTP/1.1 200")
        with pytest.raises(ssl.SSLCertVerificationError):
            get(host, ssl.create_default_context())
        openssl = require_binary("openssl", "openssl")
        result = subprocess.run([openssl, "s_client", "-connect", host, "-CAfile",
                                 str(made.certificate), "-verify_return_error", "-x509_strict",
                                 "-verify_hostname", "localhost"], input="", capture_output=True,
                                text=True, timeout=30)
        assert result.returncode == 0 and "Verify return code: 0 (ok)" in result.stdout


def test_go_clients_trust_it_through_docker_certs_d(tmp_path):
    skopeo = require_binary("skopeo", "skopeo")
    made = ensure_self_signed(tmp_path / "tls", HOSTS)
    context = server_ssl_context(str(made.certificate), str(made.key))
    with serve_app(hello_app(), context) as host:
        certs_d = tmp_path / "certs.d" / host
        certs_d.mkdir(parents=True)
        shutil.copy(made.certificate, certs_d / "ca.crt")
        def inspect(*extra):
            return subprocess.run([skopeo, "inspect", *extra, f"docker://{host}/x:1"],
                                  capture_output=True, text=True, timeout=60).stderr
        untrusted = inspect()
        assert "certificate" in untrusted and "x509" in untrusted
        trusted = inspect("--cert-dir", str(certs_d))
        assert "x509" not in trusted and "404" in trusted    # TLS held; /v2/x has no manifests


@pytest.fixture
def client_ca():
    key = new_key("ec")
    return key, self_signed_certificate(key, "client CA", ca=True)


def client_context(made, cert=None, key=None, directory=None) -> ssl.SSLContext:
    context = strict_client(made.certificate)
    if cert is not None:
        (directory / "client.crt").write_bytes(certificate_pem(cert))
        (directory / "client.key").write_bytes(private_key_pem(key))
        context.load_cert_chain(directory / "client.crt", directory / "client.key")
    return context


def test_mutual_tls_refuses_clients_without_a_certificate_of_the_cas(tmp_path, client_ca):
    ca_key, ca_cert = client_ca
    (tmp_path / "clientca.pem").write_bytes(certificate_pem(ca_cert))
    made = ensure_self_signed(tmp_path / "tls", HOSTS)
    context = server_ssl_context(str(made.certificate), str(made.key), [str(tmp_path / "clientca.pem")])
    good_key = new_key("ec")
    good = issued_certificate(good_key, "ci runner", ca_key, ca_cert)
    stranger_key = new_key("ec")
    stranger = self_signed_certificate(stranger_key, "stranger")
    with serve_app(hello_app(), context) as host:
        assert get(host, client_context(made, good, good_key, tmp_path)).startswith(b"HTTP/1.1 200")
        for refused in (client_context(made), client_context(made, stranger, stranger_key, tmp_path)):
            with pytest.raises((ssl.SSLError, ConnectionError)):
                answer = get(host, refused)
                assert answer == b"", answer   # TLS 1.3 reports the refusal on the first read
                raise ConnectionError("closed without an answer")
        openssl = require_binary("openssl", "openssl")
        def s_client(*extra):
            return subprocess.run([openssl, "s_client", "-connect", host, "-quiet", "-CAfile",
                                   str(made.certificate), *extra], input="GET /v2/ HTTP/1.0\r\n\r\n",
                                  capture_output=True, text=True, timeout=30)
        assert "200 OK" not in s_client().stdout
        with_cert = s_client("-cert", str(tmp_path / "client.crt"), "-key", str(tmp_path / "client.key"))
        assert "200 OK" not in with_cert.stdout  # client.crt holds the stranger's now
        (tmp_path / "client.crt").write_bytes(certificate_pem(good))
        (tmp_path / "client.key").write_bytes(private_key_pem(good_key))
        with_cert = s_client("-cert", str(tmp_path / "client.crt"), "-key", str(tmp_path / "client.key"))
        assert "200 OK" in with_cert.stdout


def test_minimum_version_is_enforced(tmp_path):
    made = ensure_self_signed(tmp_path / "tls", HOSTS)
    context = server_ssl_context(str(made.certificate), str(made.key), minimum="tls1.3")
    with serve_app(hello_app(), context) as host:
        old = strict_client(made.certificate)
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(ssl.SSLError):
            get(host, old)
        assert get(host, strict_client(made.certificate)).startswith(b"HTTP/1.1 200")


def test_unusable_material_is_one_line(tmp_path):
    made = ensure_self_signed(tmp_path / "a", HOSTS)
    other = ensure_self_signed(tmp_path / "b", HOSTS)
    cases = [((str(made.certificate), str(other.key)), "cannot use TLS certificate"),
             ((str(tmp_path / "none.crt"), str(made.key)), "No such file"),
             ((str(made.certificate), str(made.key), [str(tmp_path / "none.pem")]),
              "cannot use client CA file"),
             ((str(made.certificate), str(made.key), [], "tls9"), "unknown minimum TLS version")]
    for args, message in cases:
        with pytest.raises(TLSError, match=message) as caught:
            server_ssl_context(*args)
        assert "\n" not in str(caught.value)
    (tmp_path / "ro").mkdir(mode=0o500)
    if os.geteuid() != 0:
        with pytest.raises(TLSError, match="cannot write TLS files"):
            ensure_self_signed(tmp_path / "ro" / "tls", HOSTS)
