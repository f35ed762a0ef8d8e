"""Real processes end to end: an upstream `pyreg serve` (htpasswd, or token
auth with the built-in issuer) holding an image skopeo pushed, a proxy
`pyreg serve` in front of it, and skopeo pulling through the proxy, before
and after the upstream is stopped."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.registry.auth.apps import write_htpasswd
from tests.registry.oci_image import build_layout, layout_blobs
from tests.registry.skopeo import Skopeo
from tests.support.processes import free_port
from tests.support.pyreg_server import pyreg_server

USERS = {"pusher": "push-pw", "proxy": "proxy-pw"}
RULES = """
rules:
  - {repositories: ["*"], users: [pusher], actions: [pull, push]}
  - {repositories: ["*"], users: [proxy], actions: [pull]}
"""


def upstream_config(workdir: Path, scheme: str, port: int) -> Path:
    write_htpasswd(workdir / "htpasswd", USERS)
    config = workdir / "upstream.yml"
    if scheme == "htpasswd":
        config.write_text(f"version: 0.1\nauth:\n  htpasswd: {{realm: up, path: {workdir / 'htpasswd'}}}\n")
        return config
    (workdir / "rules.yml").write_text(RULES)
    config.write_text(
        f"version: 0.1\nauth:\n  token: {{realm: 'http://127.0.0.1:{port}/token', service: up, "
        f"issuer: up-issuer}}\npyreg:\n  tokenserver: {{keydir: {workdir / 'keys'}, "
        f"htpasswd: {workdir / 'htpasswd'}, rules: {workdir / 'rules.yml'}}}\n")
    return config


def proxy_env(upstream_url: str) -> dict[str, str]:
    """A ttl of 0: every tag request asks the upstream, so that once it is
    stopped the cached tag is served stale rather than simply still fresh."""
    return {"REGISTRY_PROXY_REMOTEURL": upstream_url, "REGISTRY_PROXY_USERNAME": "proxy",
            "REGISTRY_PROXY_PASSWORD": USERS["proxy"], "REGISTRY_PROXY_TTL": "0s"}


def pull(skopeo: Skopeo, url: str, layout: Path) -> str:
    skopeo.pull(url, "team/app", "v1", layout)
    index = json.loads((layout / "index.json").read_text())
    return index["manifests"][0]["digest"]


@pytest.mark.parametrize("scheme", ["htpasswd", "token"])
def test_skopeo_pulls_through_the_proxy_and_from_its_cache_once_the_upstream_is_gone(tmp_path, scheme):
    skopeo = Skopeo(tmp_path)
    source = tmp_path / "source"
    digest = build_layout(source, "v1", layer_sizes=(3 << 20, 1 << 20, 2048))
    port = free_port()
    log = tmp_path / "proxy.log"
    with log.open("w") as stderr, pyreg_server(tmp_path / "proxy-storage", env=proxy_env(
            f"http://127.0.0.1:{port}"), stderr=stderr) as proxy:
        with pyreg_server(tmp_path / "upstream-storage", ["--config", str(upstream_config(tmp_path, scheme, port))],
                          port=port) as upstream:
            skopeo.run("copy", "--dest-tls-verify=false", "--dest-creds", f"pusher:{USERS['pusher']}",
                       f"oci:{source}:v1", f"docker://{upstream.split('://')[1]}/team/app:v1")
            assert pull(skopeo, proxy, tmp_path / "through") == digest
        # The upstream is stopped: everything skopeo needs is in the cache.
        assert pull(skopeo, proxy, tmp_path / "cached") == digest
        tags = skopeo.run("list-tags", "--tls-verify=false", f"docker://{proxy.split('://')[1]}/team/app")
        assert json.loads(tags)["Tags"] == ["v1"]
    assert "team/app:v1 from the cache, unconfirmed" in log.read_text()
    assert "Traceback" not in log.read_text()
    assert layout_blobs(tmp_path / "cached") == layout_blobs(source)
    assert layout_blobs(tmp_path / "through") == layout_blobs(source)
