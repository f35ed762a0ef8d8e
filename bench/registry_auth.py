"""The token-auth row of bench/registry.py: manifest GET requests/s with
token auth on, pyreg beside Distribution 2.8.2, the same token for both.

pyreg runs with `auth.token` and its built-in issuer (`pyreg.tokenserver`,
ES256); Distribution runs with `auth.token` whose `rootcertbundle` is that
issuer's certificate, so both validate tokens of one signer. Each server is
seeded with the bench image using a push token, then loaded with
`Authorization: Bearer <pull token>` on every request, at CONNECTIONS
connections (ab when installed: wrk does not run here, and a Python load
generator would take the CPU the servers need). A 401 under load is a
failure, so the figures are for requests that were authorized.
"""
from __future__ import annotations

import base64
import json
import sys
import urllib.request
from pathlib import Path

SERVICE, ISSUER = "pyreg-bench", "pyreg-bench-issuer"
USER, PASSWORD = "bench", "bench-password"
LABEL = "manifest GET, token auth (req/s)"


def _htpasswd(path: Path) -> None:
    import bcrypt
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
    path.write_text(f"{USER}:{hashed}\n")


def _configs(work: Path, pyreg_port: int, distribution_port: int) -> tuple[Path, Path]:
    """pyreg's config (auth.token + its issuer) and Distribution's, trusting that issuer."""
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


def _token(pyreg_url: str, scope: str) -> str:
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(f"{pyreg_url}/token?service={SERVICE}&scope={scope}",
                                     headers={"Authorization": f"Basic {basic}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def token_auth_rows(work: Path, workers: int, seconds: float) -> dict[str, dict[str, float]]:
    """{server: {LABEL: requests/s}} for pyreg and Distribution, one after the other."""
    from .registry import (OCI_MANIFEST, REPO, Registry, free_port, pyreg_command,
                           requests_per_second, running, seed_image)
    work.mkdir(parents=True, exist_ok=True)
    ports = {"pyreg": free_port(), "distribution": free_port()}
    pyreg_config, distribution_config = _configs(work, ports["pyreg"], ports["distribution"])
    binary = "/usr/bin/docker-registry"
    commands = {"pyreg": pyreg_command(work / "pyreg-auth", ports["pyreg"], workers)
                + ["--config", str(pyreg_config)],
                "distribution": [binary, "serve", str(distribution_config)]}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    results: dict[str, dict[str, float]] = {"pyreg": {}, "distribution": {}}
    with running(commands["pyreg"], urls["pyreg"], work / "pyreg-auth.log"), \
            running(commands["distribution"], urls["distribution"], work / "distribution-auth.log"):
        push = _token(urls["pyreg"], f"repository:{REPO}:pull,push")
        pull = {"Authorization": f"Bearer {_token(urls['pyreg'], f'repository:{REPO}:pull')}"}
        for name, url in urls.items():
            seed_image(Registry(url, {"Authorization": f"Bearer {push}"}))
        for name, url in urls.items():  # back to back, so both see the same machine
            manifest = f"{url}/v2/{REPO}/manifests/v1"
            requests_per_second(manifest, "GET", OCI_MANIFEST, 1, work, pull)  # warm up
            results[name][LABEL] = requests_per_second(manifest, "GET", OCI_MANIFEST, seconds,
                                                       work, pull)
    return results


if __name__ == "__main__":  # python3 -m bench.registry_auth: this row alone
    import tempfile
    with tempfile.TemporaryDirectory(prefix="pyreg-bench-auth-") as temp:
        rows = token_auth_rows(Path(temp), int(sys.argv[1]) if len(sys.argv) > 1 else 1, 10)
    ratio = rows["pyreg"][LABEL] / rows["distribution"][LABEL]
    print(f"{LABEL}: pyreg {rows['pyreg'][LABEL]:.0f}, distribution "
          f"{rows['distribution'][LABEL]:.0f}, ratio {ratio:.2f}")
