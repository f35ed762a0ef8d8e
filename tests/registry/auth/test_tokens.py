"""Bearer token validation: every honest way a signer is named, and every
forgery of issue 10 item 3 refused (TokenRejected becomes a 401 upstream)."""
import json
import time

import pytest

from registry.auth.scopes import repository
from registry.auth.tokens import TokenRejected, TokenSettings
from registry.auth.trust import TrustError, jwk_thumbprint, public_jwk

from .signers import (SERVICE, Signer, bundle, claims, forged_tokens, issued_certificate, kid,
                      new_key, rsa_pss, sign, validator, x5c)


@pytest.fixture(scope="module")
def roots():
    return {kind: Signer.root(kind) for kind in ("ec", "rsa", "ed", "ec384")}


@pytest.fixture
def trusted(tmp_path, roots):
    return validator(bundle(tmp_path, *(s.certificate for s in roots.values())))


def test_libtrust_key_id_has_distributions_shape(roots):
    key_id = kid(roots["ec"])
    groups = key_id.split(":")
    assert len(groups) == 12 and all(len(g) == 4 and g.isupper() or g.isdigit() for g in groups)


@pytest.mark.parametrize("kind", ["ec", "rsa", "ed", "ec384"])
def test_a_root_named_by_libtrust_kid_or_jwk_thumbprint(trusted, roots, kind):
    signer = roots[kind]
    for key_id in (kid(signer), jwk_thumbprint(signer.key.public_key())):
        grant = trusted.validate(sign(signer.key, {"kid": key_id}, claims()))
        assert grant.subject == "carol"
        assert grant.allows(repository("team/app", "pull", "push"))
        assert not grant.allows(repository("team/app", "delete"))
        assert not grant.allows(repository("other", "pull"))


@pytest.mark.parametrize("kind", ["ec", "rsa", "ed"])
def test_x5c_chains_through_an_intermediate_to_a_root(trusted, roots, kind):
    root = roots[kind]
    middle_key, leaf_key = new_key("ec"), new_key(kind)
    middle = issued_certificate(middle_key, "intermediate", root.key, root.certificate, ca=True)
    leaf = issued_certificate(leaf_key, "token signer", middle_key, middle)
    token = sign(leaf_key, {"x5c": x5c(leaf, middle)}, claims())
    assert trusted.validate(token).subject == "carol"
    assert trusted.validate(sign(root.key, {"x5c": x5c(root.certificate)}, claims()))


def test_rsa_pss_and_a_trusted_jwk_header(trusted, roots):
    rsa_root = roots["rsa"]
    assert trusted.validate(rsa_pss(rsa_root.key, {"kid": kid(rsa_root)}, claims()))
    ec_root = roots["ec"]
    token = sign(ec_root.key, {"jwk": public_jwk(ec_root.key.public_key())}, claims())
    assert trusted.validate(token).subject == "carol"


def test_keys_from_a_jwks_file(tmp_path):
    key = new_key("ed")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{**public_jwk(key.public_key()), "kid": "key-1"}]}))
    check = validator(None, jwks=str(path))
    assert check.validate(sign(key, {"kid": "key-1"}, claims())).subject == "carol"
    with pytest.raises(TokenRejected, match="unknown key"):
        check.validate(sign(key, {"kid": "key-2"}, claims()))


def test_audience_may_be_a_list_and_access_may_be_absent(trusted, roots):
    signer = roots["ec"]
    grant = trusted.validate(sign(signer.key, {"kid": kid(signer)},
                                  claims(aud=["other", SERVICE], access=None, sub=None)))
    assert grant.subject is None and not grant.allows(repository("team/app", "pull"))


WHY = {
    "alg none, unsigned": "not signed", "alg none, signed": "'none' is not accepted",
    "HS256 with the public key as secret": "'HS256' is not accepted",
    "a jwk header carrying its own key": "carries its own key", "an unknown kid": "unknown key",
    "no key named": "names no key", "x5c of a self-signed stranger": "trusted root",
    "x5c claiming the root's name": "trusted root", "x5c leaf signed by a non-CA": "issued one by",
    "x5c that is not base64 DER": "base64 DER", "expired beyond the skew": "expired",
    "not valid yet": "not valid yet", "no expiry": "numeric exp", "expiry not a number": "numeric exp",
    "wrong audience": "audience", "no audience": "audience", "wrong issuer": "issuer",
    "claims swapped under a signature": "does not verify",
    "algorithm of another key type": "needs an RSA key", "ES384 named for a P-256 key": "secp384r1",
    "critical extension": "critical", "malformed base64": "base64url", "padded base64": "base64url",
    "standard base64 alphabet": "base64url", "claims not JSON": "not valid JSON",
    "header a JSON list": "not a JSON object", "duplicate claim keys": "duplicate JSON key",
    "two parts": "compact JWS", "four parts": "compact JWS", "over-long": "too long",
    "access claim malformed": "access claim", "access entry malformed": "access claim",
}


def test_every_forgery_is_refused_for_its_reason(trusted, roots):
    forgeries = forged_tokens(roots)
    assert set(forgeries) == set(WHY)
    for name, token in forgeries.items():
        with pytest.raises(TokenRejected) as caught:
            trusted.validate(token)
            pytest.fail(f"accepted: {name}")
        assert WHY[name] in caught.value.reason, (name, caught.value.reason)


def test_an_expiry_within_the_clock_skew_is_accepted(trusted, roots):
    root = roots["ec"]
    now = int(time.time())
    assert trusted.validate(sign(root.key, {"kid": kid(root)}, claims(exp=now - 30, nbf=now + 30)))


def test_small_rsa_keys_and_unlisted_algorithms_are_refused(tmp_path, roots):
    weak = Signer.root("rsa1024")
    check = validator(bundle(tmp_path, weak.certificate, roots["rsa"].certificate),
                      algorithms=("ES256", "RS256"))
    with pytest.raises(TokenRejected, match="at least 2048 bits"):
        check.validate(sign(weak.key, {"kid": kid(weak)}, claims()))
    rsa_root = roots["rsa"]
    assert check.validate(sign(rsa_root.key, {"kid": kid(rsa_root)}, claims()))
    with pytest.raises(TokenRejected, match="not accepted"):
        check.validate(rsa_pss(rsa_root.key, {"kid": kid(rsa_root)}, claims()))


def test_verified_tokens_are_cached_until_they_expire(tmp_path, roots):
    now = [time.time()]
    root = roots["ec"]
    check = validator(bundle(tmp_path, root.certificate), cache_size=4, clock=lambda: now[0])
    token = sign(root.key, {"kid": kid(root)}, claims(exp=int(now[0]) + 100))
    assert check.cached(token) is None
    grant = check.validate(token)
    assert check.cached(token) is grant
    now[0] += 100 + 61
    with pytest.raises(TokenRejected) as caught:
        check.validate(token)
    assert not caught.value.forged
    for n in range(10):
        check.validate(sign(root.key, {"kid": kid(root)}, claims(jti=str(n), exp=int(now[0]) + 50)))
    assert len(check._cache) <= 4


def test_settings_from_the_config_section(tmp_path):
    settings = TokenSettings.from_mapping({"realm": "https://r/token", "service": "s", "issuer": "i",
                                           "rootcertbundle": "/b.pem", "autoredirect": True})
    assert settings.autoredirect and settings.autoredirectpath == "/auth/token"
    for broken, key in (({"service": "s", "issuer": "i", "rootcertbundle": "/b"}, "realm"),
                        ({"realm": "r", "service": "s", "issuer": "i"}, "rootcertbundle"),
                        ({"realm": "r", "service": "s", "issuer": "i", "jwks": "/j",
                          "signingalgorithms": ["HS256"]}, "signingalgorithms"),
                        ({"realm": "r", "service": "s", "issuer": "i", "jwks": "/j",
                          "autoredirect": "yes"}, "autoredirect")):
        with pytest.raises(ValueError, match=f"auth.token.{key}"):
            TokenSettings.from_mapping(broken)
    with pytest.raises(TrustError, match="no readable PEM"):
        (tmp_path / "empty.pem").write_text("nothing here")
        validator(str(tmp_path / "empty.pem"))
