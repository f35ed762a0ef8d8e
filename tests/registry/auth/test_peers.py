"""Real clients and Distribution 2.8.2 through pyreg's access control:
skopeo against the registry app with token and Basic auth, and Distribution
validating the built-in issuer's tokens."""
import subprocess

import pytest

from registry.auth.issuer import IssuerSettings
from registry.auth.robots import RobotStore
from registry.auth.setup import built_in_issuer
from registry.auth.token_server import token_app
from storage_backends.filesystem import FilesystemDriver
from tests.puller.fake_registry import serve_app
from tests.registry.oci_image import build_layout
from tests.registry.skopeo import Skopeo
from tests.support.processes import distribution_registry

from .apps import ISSUER, RULES, SERVICE, basic_registry, token_registry, write_htpasswd


def skopeo_ok(skopeo: Skopeo, *args: str) -> bool:
    result = subprocess.run([skopeo.binary, "--policy", str(skopeo.policy), *args],
                            capture_output=True, text=True, timeout=120)
    return result.returncode == 0


def push(skopeo, layout, host, reference, creds=None) -> bool:
    return skopeo_ok(skopeo, "copy", "--dest-tls-verify=false",
                     *(["--dest-creds", creds] if creds else []),
                     f"oci:{layout}:v1", f"docker://{host}/{reference}")


def inspect(skopeo, host, reference, creds=None) -> bool:
    return skopeo_ok(skopeo, "inspect", "--tls-verify=false", "--raw",
                     *(["--creds", creds] if creds else []), f"docker://{host}/{reference}")


@pytest.fixture
def image(tmp_path):
    build_layout(tmp_path / "image", layer_sizes=(200_000, 1024))
    return tmp_path / "image"


def test_skopeo_through_pyreg_token_auth(tmp_path, image):
    skopeo = Skopeo(tmp_path)
    driver = FilesystemDriver(tmp_path / "storage")
    setup = token_registry(driver, tmp_path)
    with serve_app(setup.app) as host:
        assert not push(skopeo, image, host, "team-a/app:v1")
        assert push(skopeo, image, host, "team-a/app:v1", "alice:alice-pw")
        assert inspect(skopeo, host, "team-a/app:v1", "bob:bob-pw")
        assert not inspect(skopeo, host, "team-a/app:v1", "carol:carol-pw")
        assert not inspect(skopeo, host, "team-a/app:v1")
        assert push(skopeo, image, host, "public/base:v1", "admin:admin-pw")
        assert inspect(skopeo, host, "public/base:v1")        # anonymous pull, by the rules
        assert not push(skopeo, image, host, "public/base:v2", "carol:carol-pw")


def test_skopeo_through_pyreg_basic_auth_with_a_robot(tmp_path, image):
    import asyncio
    skopeo = Skopeo(tmp_path)
    driver = FilesystemDriver(tmp_path / "storage")
    app = basic_registry(driver, write_htpasswd(tmp_path / "htpasswd"))
    _, secret = asyncio.run(RobotStore(driver).create("ci", ["repository:team-a/*:pull,push"]))
    with serve_app(app) as host:
        assert not push(skopeo, image, host, "team-a/app:v1")
        assert push(skopeo, image, host, "team-a/app:v1", f"ci:{secret}")
        assert not push(skopeo, image, host, "other/app:v1", f"ci:{secret}")
        assert inspect(skopeo, host, "team-a/app:v1", "alice:alice-pw")
        assert not inspect(skopeo, host, "team-a/app:v1", "alice:wrong")


def test_distribution_accepts_the_built_in_issuers_tokens(tmp_path, image):
    skopeo = Skopeo(tmp_path)
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    issuer = built_in_issuer(IssuerSettings(SERVICE, ISSUER, str(tmp_path / "keys")),
                             str(write_htpasswd(tmp_path / "htpasswd")), str(rules),
                             FilesystemDriver(tmp_path / "robots"))
    with serve_app(token_app(issuer)) as token_host:
        config = (f"auth:\n  token:\n    realm: http://{token_host}/token\n"
                  f"    service: {SERVICE}\n    issuer: {ISSUER}\n"
                  f"    rootcertbundle: {issuer.signing.certificate_path}\n")
        with distribution_registry(tmp_path / "dist", config) as url:
            host = url.split("//")[1]
            assert not push(skopeo, image, host, "team-a/app:v1")
            assert push(skopeo, image, host, "team-a/app:v1", "alice:alice-pw")
            assert inspect(skopeo, host, "team-a/app:v1", "bob:bob-pw")
            assert not inspect(skopeo, host, "team-a/app:v1", "carol:carol-pw")
