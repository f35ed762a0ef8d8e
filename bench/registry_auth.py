"""The configuration of the token-auth row of bench/registry.py (manifest
GET requests/s with token auth on, pyreg beside Distribution 2.8.2, the same
token for both), and the tokens.

pyreg runs with `auth.token` and its built-in issuer (`pyreg.tokenserver`,
ES256); Distribution runs with `auth.token` whose `rootcertbundle` is that
issuer's certificate, so both validate tokens of one signer. Each server is
seeded with the bench image using a push token, then loaded with
`Authorization: Bearer <pull token>` on every request (ab when installed: a
Python load generator would take the CPU the servers need). A 401 under
load is a failure, so the figures are for requests that were authorized.
"""
from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path

SERVICE, ISSUER = "pyreg-bench", "pyreg-bench-issuer"
USER, PASSWORD = "bench", "bench-password"
LABEL = "manifest GET, token auth (req/s)"


def _htpasswd(path: Path) -> None:
    import bcrypt
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
    path.write_text(f"{USER}:{hashed}\n")


def write_configs(work: Path, pyreg_port: int, distribution_port: int) -> tuple[Path, Path]:
    """pyreg's config (auth.token + its issuer) and Distribution's, trusting that issuer."""
    work.mkdir(parents=True, exist_ok=True)
    _htpasswd(work / "htpasswd")
    (work / "rules.yml").write_text(f'rules:\n  - {{repositories: ["*"], users: [{USER}], '
                                    'actions: ["*"]}\n')
    realm = f"http://127.0.0.1:{pyreg_port}/token"
    pyreg = work / "pyreg-auth.yml"
    pyreg.write_text(
        f"version: 0.1\nauth:\n  token: {{realm: '{realm}', service: {SERVICE}, issuer: {ISSUER}}}\n"
        f"pyreg:\n  tokenserver: {{keydir: {work / 'keys'}, htpasswd: {work / 'htpasswd'}, "
        f"rules: {work / 'rules.yml'}, lifetime: 1h}}\n")
    distribution = work / "distribution-auth.yml"
    distribution.write_text(
        "version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {work / 'distribution-auth'}}}, "
        "delete: {enabled: true}}\n"
        f"http: {{addr: '127.0.0.1:{distribution_port}'}}\n"
        f"auth:\n  token: {{realm: '{realm}', service: {SERVICE}, issuer: {ISSUER}, "
        f"rootcertbundle: {work / 'keys' / 'token-signing.crt'}}}\n")
    return pyreg, distribution


def token(pyreg_url: str, scope: str) -> str:
    """A token for `scope` from pyreg's built-in issuer."""
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(f"{pyreg_url}/token?service={SERVICE}&scope={scope}",
                                     headers={"Authorization": f"Basic {basic}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]
