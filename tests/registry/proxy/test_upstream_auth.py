"""The proxy answering an upstream's Basic and Bearer-token challenges."""
from __future__ import annotations

import pytest

from registry.proxy.upstream_auth import read_challenge

from .test_pull_through import REPO, pull_all

CREDENTIALS = {"username": "proxy", "password": "s3cret"}


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
@pytest.mark.parametrize("proxy_settings", [CREDENTIALS], indirect=True)
async def test_credentials_answer_the_upstreams_challenge(proxy, upstream_state, scheme):
    upstream_state.auth = scheme
    await pull_all(proxy, upstream_state)
    if scheme == "bearer":
        # One token for the repository's scope, reused for every request after it.
        assert upstream_state.count("GET", "/token") == 1
        assert len(upstream_state.tokens) == 1


@pytest.mark.parametrize("proxy_settings", [{"username": "proxy", "password": "wrong"}], indirect=True)
async def test_refused_credentials_are_a_clear_503(proxy, upstream_state):
    upstream_state.auth = "bearer"
    response = await proxy.get(f"/v2/{REPO}/manifests/v1")
    assert response.status == 503
    assert "token server answered 401" in (await response.json())["errors"][0]["message"]


async def test_without_credentials_a_basic_challenge_is_refused_not_retried(proxy, upstream_state):
    upstream_state.auth = "basic"
    response = await proxy.get(f"/v2/{REPO}/manifests/v1")
    assert response.status == 503
    assert "refused the proxy's credentials (401)" in (await response.json())["errors"][0]["message"]
    assert upstream_state.count("GET", "/manifests/v1") + upstream_state.count("HEAD", "/manifests/v1") == 1


def test_challenges_are_parsed_with_quoted_commas():
    challenge = read_challenge('Bearer realm="https://auth.example/token?a=1,b=2",service="reg",'
                               'scope="repository:x:pull"')
    assert (challenge.scheme, challenge.realm, challenge.service) == \
        ("bearer", "https://auth.example/token?a=1,b=2", "reg")
    assert read_challenge("Negotiate abc") is None
