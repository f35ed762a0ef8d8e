"""Real clients through `pyreg serve` with token auth, the built-in issuer
and a self-signed TLS certificate (`--tls-self-signed`), users in an
htpasswd file made by Debian's `htpasswd -B`:

- pyreg's own client: login (--password-stdin), push, pull, logout;
- skopeo with --creds (and --cert-dir for the certificate);
- podman login, push and pull (--cert-dir, its own auth file);
- docker login with the certificate in /etc/docker/certs.d/<host:port>/
  (dockerd treats 127.0.0.0/8 as insecure and never reads certs.d for it,
  so this registry listens on [::1], which docker verifies).
"""
from __future__ import annotations

import contextlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.commands import REPO_ROOT, run, unmount_under
from tests.e2e.images import STORE_REF
from tests.e2e.peers import Podman, Skopeo
from tests.registry.auth.apps import write_htpasswd
from tests.support.processes import free_port
from tests.support.pyreg_server import pyreg_process

SERVICE, ISSUER = "pyreg-e2e", "pyreg-e2e-issuer"
USERS = {"alice": "alice-pw", "bob": "bob-pw"}
RULES = """
rules:
  - {repositories: ["e2e/*"], users: [alice], actions: [pull, push]}
  - {repositories: ["e2e/*"], users: [bob], actions: [pull]}
"""


@dataclass(frozen=True)
class Secured:
    host: str          # 127.0.0.1:PORT or [::1]:PORT
    certificate: Path  # what `pyreg serve --tls-self-signed` said to trust
    cert_dir: Path     # a directory holding it as ca.crt (skopeo's and podman's --cert-dir)


@contextlib.contextmanager
def secured_registry(workdir: Path, address: str) -> Iterator[Secured]:
    import ssl
    port = free_port()
    host = f"{'[::1]' if address == '::1' else address}:{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    write_htpasswd(workdir / "htpasswd", USERS)
    (workdir / "rules.yml").write_text(RULES)
    config = workdir / "config.yml"
    config.write_text(
        f"version: 0.1\nauth:\n  token: {{realm: 'https://{host}/token', service: {SERVICE}, "
        f"issuer: {ISSUER}}}\npyreg:\n  tokenserver: {{keydir: {workdir / 'keys'}, "
        f"htpasswd: {workdir / 'htpasswd'}, rules: {workdir / 'rules.yml'}}}\n")
    from registry.certificates import certificate_hosts, ensure_self_signed
    made = ensure_self_signed(workdir / "tls", certificate_hosts(address))
    context = ssl.create_default_context(cafile=str(made.certificate))
    args = ["--config", str(config), "--tls-self-signed", "--tls-dir", str(workdir / "tls")]
    with pyreg_process(workdir / "storage", args, port=port, context=context,
                       host=host.rsplit(":", 1)[0]):
        cert_dir = workdir / "cert-dir"
        cert_dir.mkdir(exist_ok=True)
        shutil.copy(made.certificate, cert_dir / "ca.crt")
        yield Secured(host, made.certificate, cert_dir)


@pytest.fixture(scope="module")
def secured(tmp_path_factory) -> Iterator[Secured]:
    with secured_registry(tmp_path_factory.mktemp("secured"), "127.0.0.1") as registry:
        yield registry


def pyreg_as_user(root: Path, docker_config: Path, *args: str, stdin: str | None = None,
                  check: bool = True):
    return run([sys.executable, "-m", "pyreg_cli.main", "--root", str(root), *args], check=check,
               env={"PYTHONPATH": str(REPO_ROOT), "DOCKER_CONFIG": str(docker_config)},
               cwd=REPO_ROOT, **({"input": stdin} if stdin is not None else {}))


def test_pyreg_client_login_push_pull_logout(tmp_path, secured, image):
    config, ca = tmp_path / "docker-config", ["--ca-cert", str(secured.certificate)]
    reference = f"{secured.host}/e2e/pyreg:1"
    anonymous = pyreg_as_user(image.store, config, "push", "-q", *ca, STORE_REF, reference,
                              check=False)
    assert anonymous.returncode == 1 and "pyreg login" in anonymous.stderr
    wrong = pyreg_as_user(image.store, config, "login", "-u", "alice", "--password-stdin", *ca,
                          secured.host, stdin="nope\n", check=False)
    assert wrong.returncode == 1 and "wrong username or password" in wrong.stderr
    pyreg_as_user(image.store, config, "login", "-u", "alice", "--password-stdin", *ca,
                  secured.host, stdin="alice-pw\n")
    pushed = pyreg_as_user(image.store, config, "push", "-q", *ca, STORE_REF, reference)
    assert pushed.stdout.strip().endswith(str(image.store_digest))
    fresh = tmp_path / "fresh-store"
    pyreg_as_user(fresh, config, "pull", "-q", *ca, reference)
    listed = pyreg_as_user(fresh, config, "images", "--format", "json").stdout
    assert str(image.store_digest) in listed
    pyreg_as_user(fresh, config, "logout", secured.host)
    after = pyreg_as_user(tmp_path / "other", config, "pull", "-q", *ca, reference, check=False)
    assert after.returncode == 1 and "pyreg login" in after.stderr


def test_skopeo_with_creds(tmp_path, secured, image):
    skopeo = Skopeo(tmp_path / "skopeo")
    destination = f"docker://{secured.host}/e2e/skopeo:1"
    cert_dir = str(secured.cert_dir)
    refused = skopeo("copy", "--dest-cert-dir", cert_dir, "--dest-creds", "bob:bob-pw",
                     image.layout_source, destination, check=False)
    assert refused.returncode != 0                    # bob may only pull
    skopeo("copy", "--preserve-digests", "--dest-cert-dir", cert_dir, "--dest-creds",
           "alice:alice-pw", image.layout_source, destination)
    inspected = skopeo("inspect", "--cert-dir", cert_dir, "--creds", "bob:bob-pw", destination)
    assert str(image.layout_digest) in inspected.stdout
    assert skopeo("inspect", "--cert-dir", cert_dir, destination, check=False).returncode != 0
    untrusted = skopeo("inspect", "--creds", "bob:bob-pw", destination, check=False)
    assert untrusted.returncode != 0 and "certificate" in untrusted.stderr


@pytest.fixture
def podman(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("podman")  # short: podman refuses a runroot over 50 characters
    try:
        yield Podman(workdir)
    finally:
        unmount_under(workdir)


def test_podman_login_push_pull(tmp_path, secured, image, podman):
    auth = ["--authfile", str(tmp_path / "auth.json"), "--cert-dir", str(secured.cert_dir)]
    reference = f"{secured.host}/e2e/podman:1"
    podman("import", str(image.rootfs_tar), "localhost/e2e/podman:1")
    wrong = podman("login", *auth, "-u", "alice", "-p", "nope", secured.host, check=False)
    assert wrong.returncode != 0
    assert "Login Succeeded" in podman("login", *auth, "-u", "alice", "-p", "alice-pw",
                                       secured.host).stdout
    podman("push", *auth, "localhost/e2e/podman:1", reference)
    podman("rmi", "--all", "--force")
    podman("pull", *auth, reference)
    assert podman("images", "--quiet", reference).stdout.strip()
    podman("logout", "--authfile", str(tmp_path / "auth.json"), secured.host)
    assert podman("pull", *auth, reference, check=False).returncode != 0


@contextlib.contextmanager
def trusted_by_docker(secured: Secured) -> Iterator[None]:
    """docker's certs.d convention: the daemon reads /etc/docker/certs.d
    (it has no setting for another place); only this host's directory is
    made, and removed after."""
    folder = Path("/etc/docker/certs.d") / secured.host
    folder.mkdir(parents=True)
    try:
        shutil.copy(secured.certificate, folder / "ca.crt")
        yield
    finally:
        shutil.rmtree(folder)


def test_docker_login_to_tls_pyreg_with_certs_d(tmp_path, docker):
    with secured_registry(tmp_path / "v6", "::1") as secured:
        login = ["--config", str(tmp_path / "docker-config"), "login", "-u", "alice"]
        untrusted = docker(*login, "-p", "alice-pw", secured.host, check=False)
        assert untrusted.returncode != 0 and "certificate signed by unknown authority" in \
            untrusted.stderr
        with trusted_by_docker(secured):
            wrong = docker(*login, "-p", "nope", secured.host, check=False)
            assert wrong.returncode != 0 and "unauthorized" in wrong.stderr.lower()
            assert "Login Succeeded" in docker(*login, "-p", "alice-pw", secured.host).stdout
        config = (tmp_path / "docker-config" / "config.json").read_text()
        assert secured.host in config
