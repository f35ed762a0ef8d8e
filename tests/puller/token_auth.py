"""A token server for Distribution's `auth: token`: a self-signed RSA cert
(Distribution's rootcertbundle) and JWTs carrying it in `x5c`, granted to one
user. Runs as a real aiohttp server on 127.0.0.1."""
from __future__ import annotations

import base64
import datetime
import json
import time
import uuid
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

SERVICE = "pyreg-test-registry"
ISSUER = "pyreg-test-issuer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    def __init__(self, directory: Path, username: str, password: str):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pyreg test token signer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.cert_path = directory / "token-cert.pem"
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self.username, self.password = username, password
        self.requests: list[dict] = []

    def sign(self, access: list[dict]) -> str:
        der = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": self.username, "aud": SERVICE, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"

    def app(self) -> web.Application:
        async def token(request: web.Request) -> web.Response:
            self.requests.append({"query": dict(request.query),
                                  "auth": request.headers.get("Authorization", "")})
            expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            if request.headers.get("Authorization") != expected:
                return web.json_response({"details": "invalid credentials"}, status=401)
            access = []
            for scope in request.query.getall("scope", []):
                kind, name, actions = scope.split(":")
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
            return web.json_response({"token": self.sign(access), "expires_in": 300})

        app = web.Application()
        app.router.add_get("/token", token)
        return app

    def distribution_config(self, realm_host: str) -> str:
        return (f"auth:\n  token:\n    realm: http://{realm_host}/token\n    service: {SERVICE}\n"
                f"    issuer: {ISSUER}\n    rootcertbundle: {self.cert_path}\n")
