"""Registry credentials, kept where docker keeps them so that `docker login`,
podman and skopeo share them with pyreg: `$DOCKER_CONFIG/config.json` (default
`~/.docker/config.json`), `auths.<host>.auth` = base64("user:password"), or a
credential helper (`credHelpers.<host>`, else `credsStore`) run as
`docker-credential-<name> get|store|erase`.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ocispec.layout import write_atomic

from .errors import CredentialError

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", DOCKER_HUB_KEY}


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print a password by accident
        return f"Credentials(username={self.username!r})"


def config_path() -> Path:
    directory = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
    return Path(directory) / "config.json"


def config_key(host: str) -> str:
    """The key docker uses for a registry host in `auths`."""
    return DOCKER_HUB_KEY if host in _HUB_ALIASES else host


def _strip_scheme(key: str) -> str:
    for prefix in ("https://", "http://"):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key.split("/", 1)[0]


def load_config() -> dict:
    path = config_path()
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (ValueError, OSError) as err:
        raise CredentialError(f"cannot read {path}: {err}") from None
    if not isinstance(data, dict):
        raise CredentialError(f"{path} is not a JSON object")
    return data


def _save_config(data: dict) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, json.dumps(data, indent="\t").encode())
    os.chmod(path, 0o600)


def _helper_for(config: dict, host: str) -> str | None:
    helpers = config.get("credHelpers") or {}
    for candidate in (host, config_key(host)):
        if isinstance(helpers, dict) and candidate in helpers:
            return str(helpers[candidate])
    store = config.get("credsStore")
    return str(store) if store else None


def _run_helper(name: str, action: str, payload: str) -> str:
    program = f"docker-credential-{name}"
    try:
        done = subprocess.run([program, action], input=payload.encode(), capture_output=True,
                              timeout=30)
    except FileNotFoundError:
        raise CredentialError(f"credential helper {program} not found in PATH") from None
    except subprocess.TimeoutExpired:
        raise CredentialError(f"credential helper {program} timed out") from None
    out = done.stdout.decode(errors="replace").strip()
    if done.returncode != 0:
        if "credentials not found" in out.lower():
            return ""
        detail = out or done.stderr.decode(errors="replace").strip()
        raise CredentialError(f"credential helper {program} {action} failed: {detail[:200]}")
    return out


def _decode_auth(entry: dict) -> Credentials | None:
    if entry.get("username") and entry.get("password"):
        return Credentials(str(entry["username"]), str(entry["password"]))
    auth = entry.get("auth")
    if not auth:
        return None
    try:
        user, _, password = base64.b64decode(auth).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise CredentialError("malformed auth entry in docker config.json") from None
    return Credentials(user, password)


def get_credentials(host: str) -> Credentials | None:
    """What to send to `host`, or None for anonymous access."""
    config = load_config()
    helper = _helper_for(config, host)
    if helper:
        out = _run_helper(helper, "get", config_key(host))
        if out:
            try:
                data = json.loads(out)
                return Credentials(str(data["Username"]), str(data["Secret"]))
            except (ValueError, KeyError, TypeError):
                raise CredentialError(f"credential helper {helper} returned malformed JSON") from None
    auths = config.get("auths") or {}
    for key, entry in auths.items() if isinstance(auths, dict) else ():
        if isinstance(entry, dict) and config_key(_strip_scheme(key)) == config_key(host):
            return _decode_auth(entry)
    return None


def store_credentials(host: str, credentials: Credentials) -> None:
    config = load_config()
    helper = _helper_for(config, host)
    if helper:
        payload = json.dumps({"ServerURL": config_key(host), "Username": credentials.username,
                              "Secret": credentials.password})
        _run_helper(helper, "store", payload)
        return
    token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
    auths = config.setdefault("auths", {})
    auths[config_key(host)] = {"auth": token}
    _save_config(config)


def erase_credentials(host: str) -> bool:
    """Forget `host`; True when something was removed."""
    config = load_config()
    helper = _helper_for(config, host)
    if helper:
        _run_helper(helper, "erase", config_key(host))
        return True
    auths = config.get("auths") or {}
    keys = [k for k in auths if config_key(_strip_scheme(k)) == config_key(host)]
    for key in keys:
        del auths[key]
    if keys:
        _save_config(config)
    return bool(keys)
