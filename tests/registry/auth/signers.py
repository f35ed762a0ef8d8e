"""Keys, certificates and tokens for the token tests: honest signers and forgers."""
from __future__ import annotations

import base64
import datetime
import json
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from registry.auth.jose import b64url_encode, sign_compact
from registry.auth.tokens import TokenSettings, TokenValidator
from registry.auth.trust import TrustStore, libtrust_key_id, public_jwk
from registry.certificates import certificate_pem, self_signed_certificate

SERVICE, ISSUER = "registry.test", "issuer.test"


def new_key(kind: str):
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "rsa1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return ed25519.Ed25519PrivateKey.generate()


def issued_certificate(key, name: str, issuer_key, issuer_cert, ca: bool = False,
                       days: int = 1) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True))
    digest = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, digest)


@dataclass
class Signer:
    key: object
    certificate: x509.Certificate

    @classmethod
    def root(cls, kind: str = "ec") -> Signer:
        key = new_key(kind)
        return cls(key, self_signed_certificate(key, f"test root {kind}", ca=True))


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": SERVICE, "sub": "carol", "exp": now + 300, "nbf": now - 5,
            "iat": now, "jti": "j1",
            "access": [{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}]}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key, header: dict, body: dict) -> str:
    return sign_compact(key, header, body)


def raw_token(header: dict, body: dict | str, signature: bytes) -> str:
    """A token assembled by hand, for the forgeries sign_compact refuses to make."""
    head = b64url_encode(json.dumps(header).encode())
    payload = body if isinstance(body, str) else b64url_encode(json.dumps(body).encode())
    return f"{head}.{payload}.{b64url_encode(signature)}"


def hs256(secret: bytes, header: dict, body: dict) -> str:
    import hmac
    head = b64url_encode(json.dumps(header).encode())
    payload = b64url_encode(json.dumps(body).encode())
    mac = hmac.new(secret, f"{head}.{payload}".encode(), "sha256").digest()
    return f"{head}.{payload}.{b64url_encode(mac)}"


def rsa_pss(key, header: dict, body: dict) -> str:
    head = b64url_encode(json.dumps({**header, "alg": "PS256"}).encode())
    payload = b64url_encode(json.dumps(body).encode())
    signature = key.sign(f"{head}.{payload}".encode(),
                         padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                         hashes.SHA256())
    return f"{head}.{payload}.{b64url_encode(signature)}"


def bundle(directory: Path, *certificates: x509.Certificate) -> str:
    path = directory / "bundle.pem"
    path.write_bytes(b"".join(certificate_pem(c) for c in certificates))
    return str(path)


def validator(bundle_path: str | None, jwks: str | None = None, algorithms=(),
              cache_size: int = 10_000, clock=time.time) -> TokenValidator:
    options = TokenSettings(realm="https://auth.test/token", service=SERVICE, issuer=ISSUER,
                            rootcertbundle=bundle_path, jwks=jwks, signingalgorithms=algorithms)
    return TokenValidator(options, TrustStore.from_files(bundle_path, jwks), cache_size, clock)


def x5c(*certificates) -> list[str]:
    return [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in certificates]


def kid(signer: Signer) -> str:
    return libtrust_key_id(signer.key.public_key())


def forged_tokens(roots: dict[str, Signer]) -> dict[str, str]:
    """Every forgery of issue 10 item 3, by name, against the "ec" root."""
    root = roots["ec"]
    attacker = new_key("ec")
    now = int(time.time())
    public_pem = root.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    fake_root = issued_certificate(attacker, "test root ec", attacker, root.certificate)
    good = sign(root.key, {"kid": kid(root)}, claims())
    head, body, signature = good.split(".")
    other_body = b64url_encode(json.dumps(claims(access=[{"type": "repository", "name": "*",
                                                           "actions": ["*"]}])).encode())
    return {
        "alg none, unsigned": raw_token({"alg": "none", "kid": kid(root)}, claims(), b""),
        "alg none, signed": raw_token({"alg": "none", "kid": kid(root)}, claims(), b"x" * 64),
        "HS256 with the public key as secret": hs256(public_pem, {"alg": "HS256", "kid": kid(root)},
                                                     claims()),
        "a jwk header carrying its own key": sign(attacker, {"jwk": public_jwk(attacker.public_key())},
                                                  claims()),
        "an unknown kid": sign(attacker, {"kid": libtrust_key_id(attacker.public_key())}, claims()),
        "no key named": sign(root.key, {}, claims()),
        "x5c of a self-signed stranger": sign(attacker, {"x5c": x5c(
            issued_certificate(attacker, "me", attacker, root.certificate))}, claims()),
        "x5c claiming the root's name": sign(attacker, {"x5c": x5c(fake_root)}, claims()),
        "x5c leaf signed by a non-CA": sign(attacker, {"x5c": x5c(
            issued_certificate(attacker, "leaf", new_key("ec"), root.certificate), root.certificate)},
            claims()),
        "x5c that is not base64 DER": sign(root.key, {"x5c": ["not-a-certificate"]}, claims()),
        "expired beyond the skew": sign(root.key, {"kid": kid(root)}, claims(exp=now - 120)),
        "not valid yet": sign(root.key, {"kid": kid(root)}, claims(nbf=now + 300)),
        "no expiry": sign(root.key, {"kid": kid(root)}, claims(exp=None)),
        "expiry not a number": sign(root.key, {"kid": kid(root)}, claims(exp=str(now + 300))),
        "wrong audience": sign(root.key, {"kid": kid(root)}, claims(aud="elsewhere")),
        "no audience": sign(root.key, {"kid": kid(root)}, claims(aud=None)),
        "wrong issuer": sign(root.key, {"kid": kid(root)}, claims(iss="mallory")),
        "claims swapped under a signature": f"{head}.{other_body}.{signature}",
        "algorithm of another key type": raw_token({"alg": "RS256", "kid": kid(root)}, claims(),
                                                   b"\x01" * 256),
        "ES384 named for a P-256 key": raw_token({"alg": "ES384", "kid": kid(root)}, claims(),
                                                 b"\x01" * 96),
        "critical extension": sign(root.key, {"kid": kid(root), "crit": ["exp"]}, claims()),
        "malformed base64": good[:10] + "!" + good[11:],
        "padded base64": f"{head}=.{body}.{signature}",
        "standard base64 alphabet": f"{head}.{body}.{signature.replace('-', '+').replace('_', '/')}"
        if ("-" in signature or "_" in signature) else f"{head}.{body}+.{signature}",
        "claims not JSON": f"{head}.{b64url_encode(b'{not json')}.{signature}",
        "header a JSON list": f"{b64url_encode(b'[1]')}.{body}.{signature}",
        "duplicate claim keys": raw_token({"alg": "ES256", "kid": kid(root)},
                                          b64url_encode(b'{"iss":"mallory","iss":"issuer.test"}'),
                                          b"\x01" * 64),
        "two parts": f"{head}.{body}",
        "four parts": f"{good}.{signature}",
        "over-long": sign(root.key, {"kid": kid(root), "pad": "x" * 9000}, claims()),
        "access claim malformed": sign(root.key, {"kid": kid(root)}, claims(access={"a": 1})),
        "access entry malformed": sign(root.key, {"kid": kid(root)}, claims(access=[{"type": 1}])),
    }
