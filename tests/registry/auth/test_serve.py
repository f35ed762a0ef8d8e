"""`pyreg serve` with access control and TLS, run as an operator runs it:
registry:2 config files with auth.htpasswd or auth.token and http.tls
start it unchanged (Distribution 2.8.2 starts with the same files), every
forged token is a 401 through the real server, mutual TLS refuses a client
without a certificate, and what cannot be served stops start-up."""
from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from registry.certificates import (certificate_hosts, certificate_pem, ensure_self_signed,
                                   private_key_pem)
from tests.support.processes import free_port, require_binary, terminating, wait_for_http
from tests.support.pyreg_server import REPO_ROOT, pyreg_process

from .apps import basic, bearer, blob, write_htpasswd
from .signers import (ISSUER, SERVICE, Signer, bundle, claims, forged_tokens, issued_certificate,
                      kid, new_key, sign)

BLOB, DIGEST = blob(b"a layer behind access control")
SERVED = """\
version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: {root}
http:
  addr: 127.0.0.1:{port}
  tls:
    certificate: {cert}
    key: {key}
"""
HTPASSWD_CONFIG = SERVED + """\
auth:
  htpasswd:
    realm: basic-realm
    path: {htpasswd}
"""
TOKEN_CONFIG = SERVED + """\
auth:
  token:
    realm: https://auth.example.test/token
    service: {service}
    issuer: {issuer}
    rootcertbundle: {bundle}
"""


def call(url: str, context: ssl.SSLContext, method: str = "GET", headers: dict | None = None,
         data: bytes | None = None, source: str = "127.0.0.1") -> tuple[int, dict, bytes]:
    """One HTTPS request from the loopback address `source` (the failure
    throttle counts per address: each forgery can come from its own)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30,
                                             context=context, source_address=(source, 0))
    try:
        connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                           data, headers or {})
        response = connection.getresponse()
        return response.status, dict(response.headers), response.read()
    finally:
        connection.close()


def tls_pair(directory: Path) -> tuple[Path, Path, ssl.SSLContext]:
    made = ensure_self_signed(directory, certificate_hosts("127.0.0.1"))
    return made.certificate, made.key, ssl.create_default_context(cafile=str(made.certificate))


def distribution_starts_with(config: Path, url: str, context: ssl.SSLContext) -> None:
    """The file is a genuine registry:2 configuration: Distribution serves it."""
    binary = require_binary("docker-registry", "docker-registry")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    with terminating(process):
        wait_for_http(f"{url}/v2/", process, context=context)


def htpasswd_config(tmp_path) -> tuple[Path, int, ssl.SSLContext]:
    """A registry:2 config.yml with Basic auth (alice, by htpasswd -B) and TLS;
    its port, and how a client trusts it."""
    cert, key, context = tls_pair(tmp_path / "tls")
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {"alice": "alice-pw"})
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text(HTPASSWD_CONFIG.format(root=tmp_path / "data", port=port, cert=cert, key=key,
                                             htpasswd=htpasswd))
    return config, port, context


def test_registry2_htpasswd_config_with_tls_starts_unchanged(tmp_path):
    config, port, context = htpasswd_config(tmp_path)
    distribution_starts_with(config, f"https://127.0.0.1:{port}", context)
    with pyreg_process(None, ["--config", str(config)], port=port, context=context) as (url, _):
        status, headers, body = call(f"{url}/v2/", context)
        assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="basic-realm"'
        assert json.loads(body)["errors"][0]["code"] == "UNAUTHORIZED"
        assert call(f"{url}/v2/", context, headers=basic("alice", "wrong"))[0] == 401
        assert call(f"{url}/v2/", context, headers=basic("alice", "alice-pw"))[0] == 200
        pushed = call(f"{url}/v2/team/app/blobs/uploads/?digest={DIGEST}", context, "POST",
                      basic("alice", "alice-pw"), BLOB)
        assert pushed[0] == 201
        assert call(f"{url}/v2/team/app/blobs/{DIGEST}", context)[0] == 401
        write_htpasswd(tmp_path / "htpasswd", {"alice": "alice-pw", "bob": "bob-pw"})
        got = call(f"{url}/v2/team/app/blobs/{DIGEST}", context, headers=basic("bob", "bob-pw"))
        assert got[0] == 200 and got[2] == BLOB      # the file re-read, without a restart


@pytest.fixture(scope="module")
def roots():
    return {"ec": Signer.root("ec")}


def test_registry2_token_config_refuses_every_forged_token_with_401(tmp_path, roots):
    cert, key, context = tls_pair(tmp_path / "tls")
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text(TOKEN_CONFIG.format(root=tmp_path / "data", port=port, cert=cert, key=key,
                                          service=SERVICE, issuer=ISSUER,
                                          bundle=bundle(tmp_path, roots["ec"].certificate)))
    distribution_starts_with(config, f"https://127.0.0.1:{port}", context)
    with pyreg_process(None, ["--config", str(config)], port=port, context=context) as (url, _):
        honest = sign(roots["ec"].key, {"kid": kid(roots["ec"])}, claims())
        assert call(f"{url}/v2/team/app/tags/list", context, headers=bearer(honest))[0] == 404
        for number, (name, token) in enumerate(forged_tokens(roots).items()):
            status, headers, body = call(f"{url}/v2/team/app/tags/list", context,
                                         headers=bearer(token), source=f"127.0.0.{10 + number}")
            assert status == 401, (name, status, body)
            assert 'error="invalid_token"' in headers["WWW-Authenticate"], name
        huge = call(f"{url}/v2/team/app/tags/list", context, headers=bearer("a" * 20000))
        assert huge[0] == 401


def pyreg_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyreg_cli.main", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, input=stdin, timeout=60)


def token_for(url: str, context, user: str, password: str, *scopes: str) -> tuple[int, str | None]:
    query = "&".join([f"service={SERVICE}"] + [f"scope={s}" for s in scopes])
    status, _, body = call(f"{url}/token?{query}", context, headers=basic(user, password))
    return status, json.loads(body)["token"] if status == 200 else None


def issuer_config(tmp_path, actions: str, registry: bool) -> tuple[Path, int]:
    """The built-in issuer with alice (htpasswd -B) granted `actions` on
    team/*; with `registry`, for a registry that takes its tokens
    (auth.token), else for `pyreg token-server` alone. The config and its port."""
    write_htpasswd(tmp_path / "htpasswd", {"alice": "alice-pw"})
    (tmp_path / "rules.yml").write_text(
        f'rules:\n  - {{repositories: ["team/*"], users: [alice], actions: [{actions}]}}\n')
    port = free_port()
    validated = (f"auth:\n  token: {{realm: 'https://127.0.0.1:{port}/token', service: {SERVICE}, "
                 f"issuer: {ISSUER}}}\n") if registry else ""
    named = "" if registry else f", service: {SERVICE}, issuer: {ISSUER}"
    config = tmp_path / "config.yml"
    config.write_text(
        f"version: 0.1\nhttp: {{addr: '127.0.0.1:{port}'}}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'data'}}}}}\n{validated}"
        f"pyreg:\n  tokenserver: {{keydir: {tmp_path / 'keys'}, htpasswd: {tmp_path / 'htpasswd'}, "
        f"rules: {tmp_path / 'rules.yml'}{named}}}\n")
    return config, port


def test_built_in_issuer_and_a_robot_until_it_is_revoked(tmp_path):
    config, port = issuer_config(tmp_path, "pull, push", registry=True)
    tls = ensure_self_signed(tmp_path / "tls", certificate_hosts("127.0.0.1"))
    context = ssl.create_default_context(cafile=str(tls.certificate))
    with pyreg_process(None, ["--config", str(config), "--tls-self-signed", "--tls-dir",
                              str(tmp_path / "tls")], port=port, context=context) as (url, _):
        challenge = call(f"{url}/v2/team/app/tags/list", context)[1]["WWW-Authenticate"]
        assert challenge == (f'Bearer realm="https://127.0.0.1:{port}/token",service="{SERVICE}",'
                             'scope="repository:team/app:pull"')
        status, alice = token_for(url, context, "alice", "alice-pw", "repository:team/app:pull,push")
        assert status == 200
        assert call(f"{url}/v2/team/app/blobs/uploads/?digest={DIGEST}", context, "POST",
                    bearer(alice), BLOB)[0] == 201
        made = pyreg_cli("token", "create", "--name", "ci", "--scope", "repository:team/*:pull",
                         "--config", str(config))
        assert made.returncode == 0, made.stderr
        secret = made.stdout.strip()
        status, robot = token_for(url, context, "ci", secret, "repository:team/app:pull,push")
        assert status == 200
        got = call(f"{url}/v2/team/app/blobs/{DIGEST}", context, headers=bearer(robot))
        assert got[0] == 200 and got[2] == BLOB
        refused = call(f"{url}/v2/team/app/blobs/uploads/", context, "POST", bearer(robot))
        assert refused[0] == 401 and "insufficient_scope" in refused[1]["WWW-Authenticate"]
        assert "ci" in pyreg_cli("token", "list", "--config", str(config)).stdout
        assert pyreg_cli("token", "revoke", "ci", "--config", str(config)).returncode == 0
        deadline = time.monotonic() + 20    # every worker re-reads a robot within 2 s
        while token_for(url, context, "ci", secret, "repository:team/app:pull")[0] != 401:
            assert time.monotonic() < deadline, "a revoked robot still gets tokens"
            time.sleep(0.2)
        revoked = call(f"{url}/v2/team/app/blobs/{DIGEST}", context, headers=bearer(robot))
        assert revoked[0] == 401             # nor does a token issued to it before
        assert call(f"{url}/v2/team/app/blobs/{DIGEST}", context, headers=bearer(alice))[0] == 200


def client_context(ca: Path, certificate: Path | None = None, key: Path | None = None):
    context = ssl.create_default_context(cafile=str(ca))
    if certificate:
        context.load_cert_chain(str(certificate), str(key))
    return context


def write_client(directory: Path, name: str, issuer: Signer) -> tuple[Path, Path]:
    key = new_key("ec")
    certificate = issued_certificate(key, name, issuer.key, issuer.certificate)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.cert").write_bytes(certificate_pem(certificate))
    (directory / f"{name}.key").write_bytes(private_key_pem(key))
    return directory / f"{name}.cert", directory / f"{name}.key"


def refused_handshake(url: str, context: ssl.SSLContext) -> bool:
    try:
        call(f"{url}/v2/", context)
    except (ssl.SSLError, ConnectionError):
        return True
    return False


def test_mutual_tls_refuses_a_client_without_a_certificate(tmp_path):
    cert, key, _ = tls_pair(tmp_path / "tls")
    clients_ca, stranger_ca = Signer.root("ec"), Signer.root("ec")
    cas = tmp_path / "client-cas.pem"
    cas.write_bytes(certificate_pem(clients_ca.certificate))
    good = write_client(tmp_path / "good", "client", clients_ca)
    stranger = write_client(tmp_path / "stranger", "client", stranger_ca)
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text(f"version: 0.1\nhttp:\n  tls:\n    certificate: {cert}\n    key: {key}\n"
                      f"    clientcas:\n      - {cas}\n")
    trusted = client_context(cert, *good)
    with pyreg_process(tmp_path / "data", ["--config", str(config)], port=port,
                       context=trusted) as (url, _):
        assert call(f"{url}/v2/", trusted)[0] == 200
        assert refused_handshake(url, client_context(cert))
        assert refused_handshake(url, client_context(cert, *stranger))


def serve_refused(tmp_path, config_text: str) -> subprocess.CompletedProcess:
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text(config_text)
    result = pyreg_cli("serve", "--config", str(config), "--addr", f"127.0.0.1:{port}",
                       "--storage", str(tmp_path / "data"))
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "something listens"
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    return result


@pytest.mark.parametrize("text, message", [
    ("auth:\n  openid: {issuer: https://id.example}\n", "unknown config key auth.openid"),
    ("auth:\n  silly: {realm: r, service: s}\n", "config key auth.silly is not supported yet"),
    ("auth:\n  htpasswd: {realm: r, path: /nonexistent/htpasswd}\n",
     "cannot read htpasswd file /nonexistent/htpasswd"),
    ("auth:\n  token: {realm: r, service: s, issuer: i}\n", "auth.token.rootcertbundle is required"),
    ("pyreg:\n  tokenserver: {keydir: /tmp/k, service: s, issuer: i}\n",
     "pyreg.tokenserver without auth.token"),
    ("http:\n  tls:\n    clientcas: [/ca.pem]\n", "http.tls.clientcas needs http.tls.certificate"),
])
def test_access_that_cannot_be_served_stops_start_up(tmp_path, text, message):
    assert message in serve_refused(tmp_path, "version: 0.1\n" + text).stderr


def test_an_over_long_basic_header_is_a_401_too(tmp_path):
    config, port, context = htpasswd_config(tmp_path)
    with pyreg_process(None, ["--config", str(config)], port=port, context=context) as (url, _):
        padded = {"Authorization": "Basic " + base64.b64encode(b"alice:" + b"x" * 12000).decode()}
        assert call(f"{url}/v2/", context, headers=padded)[0] == 401


def test_token_server_alone(tmp_path):
    config, port = issuer_config(tmp_path, "pull", registry=False)
    process = subprocess.Popen([sys.executable, "-m", "pyreg_cli.main", "token-server", "--config",
                                str(config), "--tls-self-signed", "--tls-dir", str(tmp_path / "tls")],
                               cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with terminating(process):
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while not (tmp_path / "tls" / "registry.crt").exists():   # made on first start
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        context = ssl.create_default_context(cafile=str(tmp_path / "tls" / "registry.crt"))
        wait_for_http(f"{url}/token", process, context=context)
        status, granted = token_for(url, context, "alice", "alice-pw", "repository:team/app:pull,push")
        assert status == 200
        assert json.loads(base64.urlsafe_b64decode(granted.split(".")[1] + "=="))["access"] == \
            [{"type": "repository", "name": "team/app", "actions": ["pull"]}]
        assert call(f"{url}/v2/", context)[0] == 404      # the issuer alone: no registry here
