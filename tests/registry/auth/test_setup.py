"""Distribution's `auth` section in, a controller or one readable line out;
and the built-in issuer's signing key, made once and reused."""
import os
import stat

import pytest

from registry.auth.controllers import BasicController, TokenController
from registry.auth.issuer import CERTIFICATE_NAME, KEY_NAME, load_or_create_signing_key
from registry.auth.setup import AuthSetupError, access_controller
from registry.auth.trust import libtrust_key_id
from storage_backends.memory import MemoryDriver

from .apps import write_htpasswd
from .signers import Signer, bundle


def test_each_scheme_builds_its_controller(tmp_path):
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {"alice": "pw"})
    basic = access_controller({"htpasswd": {"realm": "r", "path": str(htpasswd)}}, MemoryDriver())
    assert isinstance(basic, BasicController)
    roots = bundle(tmp_path, Signer.root("ec").certificate)
    token = access_controller({"token": {"realm": "https://a/token", "service": "s", "issuer": "i",
                                         "rootcertbundle": roots}}, MemoryDriver())
    assert isinstance(token, TokenController)


@pytest.mark.parametrize("auth,message", [
    ({"silly": {"realm": "r", "service": "s"}}, "auth.silly is not supported"),
    ({"openid": {}}, "auth.openid is not supported"),
    ({}, "exactly one of htpasswd, token"),
    ({"htpasswd": {"realm": "r", "path": "/p"}, "token": {}}, "exactly one"),
    ({"htpasswd": "yes"}, "auth.htpasswd must be a mapping"),
    ({"htpasswd": {"realm": "r"}}, "auth.htpasswd.path must be a non-empty string"),
    ({"htpasswd": {"realm": "r", "path": "/no/such/htpasswd"}}, "cannot read htpasswd file"),
    ({"token": {"realm": "r", "service": "s", "issuer": "i"}}, "auth.token.rootcertbundle"),
    ({"token": {"realm": "r", "service": "s", "issuer": "i", "rootcertbundle": "/no/bundle"}},
     "cannot read certificate bundle /no/bundle"),
])
def test_what_cannot_work_stops_with_one_line(auth, message):
    with pytest.raises(AuthSetupError, match=message) as caught:
        access_controller(auth, MemoryDriver())
    assert "\n" not in str(caught.value)


def test_the_signing_key_is_made_once_and_reused(tmp_path):
    first = load_or_create_signing_key(str(tmp_path / "keys"), "ES256", "issuer")
    assert stat.S_IMODE(os.stat(tmp_path / "keys" / KEY_NAME).st_mode) == 0o600
    assert (tmp_path / "keys" / CERTIFICATE_NAME).read_bytes().startswith(b"-----BEGIN CERTIFICATE")
    again = load_or_create_signing_key(str(tmp_path / "keys"), "ES256", "issuer")
    assert again.certificate == first.certificate
    assert again.header["kid"] == libtrust_key_id(first.private_key.public_key())
    other = load_or_create_signing_key(str(tmp_path / "keys"), "EdDSA", "issuer")
    assert other.certificate != first.certificate          # a new algorithm is a new key
    with pytest.raises(ValueError, match="one of ES256, EdDSA"):
        load_or_create_signing_key(str(tmp_path / "keys"), "HS256", "issuer")
