"""Compact JWS (RFC 7515) for bearer tokens: strict parsing, signatures.

Strict on purpose, since every leniency is a forgery route: base64url
without padding and without stray characters (Python's decoder would skip
them), JSON objects without duplicate keys (parsers disagree on which one
wins), no `crit` extensions (RFC 7515 says refuse what is not understood),
and only asymmetric algorithms, each bound to the key type it needs. `none`
and the HMAC family never verify: with HS256, a public key would become the
shared secret.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                             encode_dss_signature)

from .errors import AuthError

MAX_TOKEN_LENGTH = 8192  # aiohttp refuses longer header lines anyway
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_CURVES = {"ES256": ("secp256r1", 32), "ES384": ("secp384r1", 48), "ES512": ("secp521r1", 66)}
MIN_RSA_BITS = 2048
SUPPORTED_ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512",
                        "PS256", "PS384", "PS512", "EdDSA")


class JoseError(AuthError, ValueError):
    """A token that is malformed or whose signature does not verify."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise JoseError("malformed base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise JoseError("malformed base64url") from None


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise JoseError(f"duplicate JSON key {key[:40]!r}")
        result[key] = value
    return result


def strict_json_object(data: bytes, what: str) -> dict:
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as err:
        if isinstance(err, JoseError):
            raise
        raise JoseError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise JoseError(f"{what} is not a JSON object")
    return value


@dataclass(frozen=True)
class CompactJWS:
    header: dict
    claims: dict
    signing_input: bytes
    signature: bytes


def parse_compact(token: str) -> CompactJWS:
    """Split and decode; nothing is trusted until `verify_signature`."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise JoseError("token too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise JoseError("not a compact JWS")
    header = strict_json_object(b64url_decode(parts[0]), "token header")
    claims = strict_json_object(b64url_decode(parts[1]), "token claims")
    signature = b64url_decode(parts[2])
    if "crit" in header:
        raise JoseError("token header has critical extensions")
    if not signature:
        raise JoseError("token is not signed")
    return CompactJWS(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def _check_key(alg: str, key) -> None:
    if alg.startswith("ES"):
        curve, _ = _CURVES[alg]
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve:
            raise JoseError(f"{alg} needs an EC {curve} key")
    elif alg.startswith(("RS", "PS")):
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
            raise JoseError(f"{alg} needs an RSA key of at least {MIN_RSA_BITS} bits")
    elif not isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        raise JoseError("EdDSA needs an Ed25519 or Ed448 key")


def verify_signature(alg: str, key, jws: CompactJWS) -> None:
    """Raises JoseError unless `key` signed `jws` with `alg`."""
    if alg not in SUPPORTED_ALGORITHMS:
        raise JoseError(f"signing algorithm {str(alg)[:20]!r} is not accepted")
    _check_key(alg, key)
    try:
        if alg == "EdDSA":
            key.verify(jws.signature, jws.signing_input)
        elif alg.startswith("ES"):
            size = _CURVES[alg][1]
            if len(jws.signature) != 2 * size:
                raise JoseError("EC signature has the wrong length")
            r = int.from_bytes(jws.signature[:size], "big")
            s = int.from_bytes(jws.signature[size:], "big")
            key.verify(encode_dss_signature(r, s), jws.signing_input,
                       ec.ECDSA(_HASHES[alg[2:]]()))
        else:
            key.verify(jws.signature, jws.signing_input, _rsa_padding(alg), _HASHES[alg[2:]]())
    except InvalidSignature:
        raise JoseError("signature does not verify") from None


def _rsa_padding(alg: str):
    if alg.startswith("PS"):
        digest = _HASHES[alg[2:]]()
        return padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    return padding.PKCS1v15()


def algorithm_for(private_key) -> str:
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        for alg, (curve, _) in _CURVES.items():
            if private_key.curve.name == curve:
                return alg
    if isinstance(private_key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(private_key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return "EdDSA"
    raise JoseError(f"cannot sign with a {type(private_key).__name__}")


def sign_compact(private_key, header: dict, claims: dict) -> str:
    """A compact JWS of `claims`; `header` gets the key's `alg`."""
    alg = algorithm_for(private_key)
    encoded = (b64url_encode(json.dumps({**header, "alg": alg}, separators=(",", ":")).encode()),
               b64url_encode(json.dumps(claims, separators=(",", ":")).encode()))
    signing_input = ".".join(encoded).encode("ascii")
    if alg == "EdDSA":
        signature = private_key.sign(signing_input)
    elif alg.startswith("ES"):
        size = _CURVES[alg][1]
        r, s = decode_dss_signature(private_key.sign(signing_input, ec.ECDSA(_HASHES[alg[2:]]())))
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{encoded[0]}.{encoded[1]}.{b64url_encode(signature)}"
