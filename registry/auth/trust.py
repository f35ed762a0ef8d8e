"""Which keys may sign bearer tokens: `auth.token.rootcertbundle` (PEM
certificates) and `auth.token.jwks` (a JSON Web Key Set file).

A token names its signer as Distribution reads it, in this order:
  - `x5c`: a certificate chain whose leaf signed the token; each certificate
    must be issued by the next, intermediates must be CAs, every one must be
    valid now, and the last must be a root of the bundle or be issued by one
    (a root signing for others must be a CA, as Go's x509 requires);
  - `jwk`: only when that key is one of the trusted keys (a token carrying a
    key of its own proves nothing, whatever the key);
  - `kid`: a trusted key's id. Distribution 2.8 names a root's key by its
    libtrust id (`ABCD:EFGH:...`), Distribution 3 by its RFC 7638 JWK
    thumbprint; both name the same root here, and JWKS keys by their `kid`.
"""
from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from .errors import AuthError
from .jose import JoseError, b64url_decode, b64url_encode

MAX_CHAIN = 5
_EC_CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}
_EC_NAMES = {cls.name: crv for crv, cls in _EC_CURVES.items()}
_EC_SIZES = {"P-256": 32, "P-384": 48, "P-521": 66}


class TrustError(AuthError, ValueError):
    """A root bundle or key set that cannot be used (a start-up error)."""


def libtrust_key_id(public_key) -> str:
    """libtrust's id: SHA-256 of the DER public key, 240 bits, base32, in groups of 4."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i:i + 4] for i in range(0, len(encoded), 4))


def public_jwk(public_key) -> dict:
    """The key's required JWK members (RFC 7638 order does not matter here)."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        crv = _EC_NAMES[public_key.curve.name]
        numbers, size = public_key.public_numbers(), _EC_SIZES[crv]
        return {"crv": crv, "kty": "EC", "x": b64url_encode(numbers.x.to_bytes(size, "big")),
                "y": b64url_encode(numbers.y.to_bytes(size, "big"))}
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        return {"e": b64url_encode(_int_bytes(numbers.e)), "kty": "RSA",
                "n": b64url_encode(_int_bytes(numbers.n))}
    if isinstance(public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        crv = "Ed25519" if isinstance(public_key, ed25519.Ed25519PublicKey) else "Ed448"
        return {"crv": crv, "kty": "OKP", "x": b64url_encode(raw)}
    raise TrustError(f"unsupported key type {type(public_key).__name__}")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def jwk_thumbprint(public_key) -> str:
    canonical = json.dumps(public_jwk(public_key), sort_keys=True, separators=(",", ":"))
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())


def key_from_jwk(jwk) -> object:
    """A public key from a JWK object; raises JoseError."""
    if not isinstance(jwk, dict):
        raise JoseError("JWK is not an object")
    try:
        kty, crv = jwk.get("kty"), jwk.get("crv")
        if kty == "EC" and crv in _EC_CURVES:
            x, y = (int.from_bytes(b64url_decode(jwk[k]), "big") for k in ("x", "y"))
            return ec.EllipticCurvePublicNumbers(x, y, _EC_CURVES[crv]()).public_key()
        if kty == "RSA":
            n, e = (int.from_bytes(b64url_decode(jwk[k]), "big") for k in ("n", "e"))
            return rsa.RSAPublicNumbers(e, n).public_key()
        if kty == "OKP" and crv in ("Ed25519", "Ed448"):
            cls = ed25519.Ed25519PublicKey if crv == "Ed25519" else ed448.Ed448PublicKey
            return cls.from_public_bytes(b64url_decode(jwk["x"]))
    except (KeyError, TypeError, ValueError) as err:
        raise JoseError(f"malformed JWK ({err.__class__.__name__})") from None
    raise JoseError(f"unsupported JWK kty {str(kty)[:10]!r}")


def load_certificates(path: str) -> list[x509.Certificate]:
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise TrustError(f"cannot read certificate bundle {path}: {err.strerror}") from None
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise TrustError(f"{path} holds no readable PEM certificate") from None
    return certificates


def _load_jwks(path: str) -> dict[str, object]:
    try:
        document = json.loads(Path(path).read_text())
        entries = document["keys"]
    except OSError as err:
        raise TrustError(f"cannot read JWKS {path}: {err.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise TrustError(f"{path} is not a JSON Web Key Set") from None
    keys = {}
    for entry in entries if isinstance(entries, list) else []:
        try:
            keys[str(entry["kid"])] = key_from_jwk(entry)
        except (JoseError, KeyError, TypeError) as err:
            raise TrustError(f"{path}: unusable key {str(entry)[:60]}: {err}") from None
    return keys


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _valid_now(certificate: x509.Certificate, now: datetime.datetime) -> bool:
    return certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except Exception:  # wrong name, wrong signature, or an algorithm it cannot check
        return False
    return True


class TrustStore:
    def __init__(self, roots: list[x509.Certificate], jwks: dict[str, object] | None = None):
        if not roots and not jwks:
            raise TrustError("token auth needs at least one signing key (rootcertbundle or jwks)")
        self.roots = roots
        self._root_der = {root.public_bytes(serialization.Encoding.DER) for root in roots}
        self.keys: dict[str, object] = {}
        for root in roots:
            key = root.public_key()
            self.keys[libtrust_key_id(key)] = key
            self.keys[jwk_thumbprint(key)] = key
        self.keys.update(jwks or {})

    @classmethod
    def from_files(cls, rootcertbundle: str | None, jwks: str | None = None,
                   extra_roots: list[x509.Certificate] = ()) -> TrustStore:
        """The bundle's roots (plus the built-in issuer's, when it runs) and a JWKS."""
        roots = load_certificates(rootcertbundle) if rootcertbundle else []
        return cls(roots + list(extra_roots), _load_jwks(jwks) if jwks else None)

    def signing_key(self, header: dict) -> object:
        """The trusted key a token's header names; raises JoseError."""
        if "x5c" in header:
            return self._chain_key(header["x5c"])
        if "jwk" in header:
            key = key_from_jwk(header["jwk"])
            for key_id in (libtrust_key_id(key), jwk_thumbprint(key)):
                if key_id in self.keys:
                    return self.keys[key_id]
            raise JoseError("token carries its own key, which is not trusted")
        kid = header.get("kid")
        if isinstance(kid, str) and kid in self.keys:
            return self.keys[kid]
        raise JoseError("token is signed by an unknown key" if kid else "token names no key")

    def _chain_key(self, x5c) -> object:
        if not isinstance(x5c, list) or not 0 < len(x5c) <= MAX_CHAIN:
            raise JoseError("x5c is not a certificate chain")
        chain = [_der_certificate(item) for item in x5c]
        now = datetime.datetime.now(datetime.timezone.utc)
        if not all(_valid_now(c, now) for c in chain):
            raise JoseError("a certificate of the x5c chain is expired or not yet valid")
        for child, parent in zip(chain, chain[1:]):
            if not (_is_ca(parent) and _issued_by(child, parent)):
                raise JoseError("x5c is not a chain of certificates issued one by the next")
        top = chain[-1]
        if top.public_bytes(serialization.Encoding.DER) not in self._root_der and not any(
                _is_ca(root) and _valid_now(root, now) and _issued_by(top, root)
                for root in self.roots):
            raise JoseError("x5c chain does not lead to a trusted root")
        return chain[0].public_key()


def _der_certificate(item) -> x509.Certificate:
    if not isinstance(item, str):
        raise JoseError("x5c entry is not a string")
    try:
        return x509.load_der_x509_certificate(base64.b64decode(item, validate=True))
    except (binascii.Error, ValueError):
        raise JoseError("x5c entry is not a base64 DER certificate") from None
