"""Authentication against real Distribution 2.8.2: htpasswd (Basic) and
token auth (Bearer, JWTs from a token server run by the test)."""
import base64
import json
import os
import stat

import bcrypt
import pytest

from puller.credentials import config_path
from puller.store import LocalStore
from tests.puller.builders import build_layout
from tests.puller.fake_registry import serve_app
from tests.puller.token_auth import TokenIssuer
from tests.support.processes import distribution_registry


@pytest.fixture
def image(tmp_path):
    return build_layout(tmp_path / "src", [100_000, 10_000])


def htpasswd_config(tmp_path, user: str, password: str) -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    (tmp_path / "htpasswd").write_text(f"{user}:{hashed}\n")
    return f"auth:\n  htpasswd:\n    realm: pyreg-test\n    path: {tmp_path / 'htpasswd'}\n"


def test_basic_auth_login_push_pull_logout(tmp_path, pyreg, image, root):
    config = htpasswd_config(tmp_path, "bob", "s3cret")
    with distribution_registry(tmp_path / "dist", config) as url:
        host = url.split("//")[1]
        from tests.puller.test_store import load_layout_into_store
        load_layout_into_store(pyreg, tmp_path / "src", f"{host}/bob/app:1")
        denied = pyreg("push", f"{host}/bob/app:1")
        assert denied.code == 1 and "pyreg login" in denied.err
        wrong = pyreg("login", "-u", "bob", "-p", "wrong", host)
        assert wrong.code == 1 and "wrong username or password" in wrong.err
        assert not config_path().exists()
        ok = pyreg("login", "-u", "bob", "-p", "s3cret", host)
        assert ok.code == 0, ok.err
        saved = json.loads(config_path().read_text())
        assert base64.b64decode(saved["auths"][host]["auth"]) == b"bob:s3cret"
        assert stat.S_IMODE(os.stat(config_path()).st_mode) == 0o600
        pushed = pyreg("push", f"{host}/bob/app:1")
        assert pushed.code == 0, pushed.err
        LocalStore(root).remove(f"{host}/bob/app:1")
        assert pyreg("pull", "-q", f"{host}/bob/app:1").code == 0
        assert LocalStore(root).layout.resolve(f"{host}/bob/app:1").digest == image.digest
        assert pyreg("logout", host).code == 0
        assert pyreg("pull", f"{host}/bob/app:1").code == 1


def test_token_auth_against_distribution(tmp_path, pyreg, image, root):
    issuer = TokenIssuer(tmp_path, "carol", "pw")
    with serve_app(issuer.app()) as token_host, \
            distribution_registry(tmp_path / "dist", issuer.distribution_config(token_host)) as url:
        host = url.split("//")[1]
        from tests.puller.test_store import load_layout_into_store
        load_layout_into_store(pyreg, tmp_path / "src", f"{host}/carol/app:1")
        assert "pyreg login" in pyreg("push", f"{host}/carol/app:1").err
        assert pyreg("login", "--password-stdin", "-u", "carol", host).code == 1  # empty stdin
        assert pyreg("login", "-u", "carol", "-p", "pw", host).code == 0
        issuer.requests.clear()
        result = pyreg("push", f"{host}/carol/app:1", f"{host}/carol/copy:2")
        assert result.code == 0, result.err
        scopes = [r["query"].get("scope") for r in issuer.requests]
        assert "repository:carol/copy:pull,push" in scopes
        assert len(issuer.requests) <= 3  # tokens are cached per scope, not fetched per request
        LocalStore(root).remove(f"{host}/carol/app:1")
        assert pyreg("pull", "-q", f"{host}/carol/copy:2").code == 0
        assert LocalStore(root).layout.resolve(f"{host}/carol/copy:2").digest == image.digest
        assert pyreg("tags", f"{host}/carol/copy").out.split() == ["2"]


def test_credential_helper_is_used(tmp_path, pyreg, monkeypatch, image):
    issuer = TokenIssuer(tmp_path, "dave", "helper-pw")
    helper_dir = tmp_path / "bin"
    helper_dir.mkdir()
    helper = helper_dir / "docker-credential-pyregtest"
    helper.write_text("#!/bin/sh\nread server\necho \"$1 $server\" >> " + str(tmp_path / "calls") +
                      "\necho '{\"Username\": \"dave\", \"Secret\": \"helper-pw\"}'\n")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{helper_dir}:{os.environ['PATH']}")
    with serve_app(issuer.app()) as token_host, \
            distribution_registry(tmp_path / "dist", issuer.distribution_config(token_host)) as url:
        host = url.split("//")[1]
        config_path().parent.mkdir(parents=True)
        config_path().write_text(json.dumps({"credHelpers": {host: "pyregtest"}}))
        from tests.puller.test_store import load_layout_into_store
        load_layout_into_store(pyreg, tmp_path / "src", f"{host}/dave/app:1")
        result = pyreg("push", f"{host}/dave/app:1")
        assert result.code == 0, result.err
        assert (tmp_path / "calls").read_text().split("\n")[0] == f"get {host}"
        # with credsStore, `pyreg login` hands the secret to the helper, not config.json
        config_path().write_text(json.dumps({"credsStore": "pyregtest"}))
        assert pyreg("login", "-u", "dave", "-p", "helper-pw", host).code == 0
    assert "store" in (tmp_path / "calls").read_text().split()
    assert "auths" not in json.loads(config_path().read_text())
