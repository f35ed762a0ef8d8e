"""registry:2's `proxy` keys and pyreg's `pyreg.proxy.upstreams`, read into settings."""
from __future__ import annotations

import pytest

from registry.config import ConfigError, config_from_dict
from registry.config.proxy import DEFAULT_TAG_TTL


def proxy_of(data, environ=None):
    return config_from_dict(data, environ=environ or {}).proxy


def test_distribution_keys_make_one_upstream_for_every_repository():
    settings = proxy_of({"proxy": {"remoteurl": "https://registry-1.docker.io/", "username": "u",
                                   "password": "p", "ttl": "90s"}})
    (upstream,) = settings.upstreams
    assert (upstream.prefix, upstream.remote_url, upstream.username, upstream.password, upstream.ttl) == \
        ("", "https://registry-1.docker.io", "u", "p", 90.0)
    assert settings.upstream_for("anything/at/all") is upstream
    assert upstream.remote_name("alpine") == "library/alpine"  # Docker Hub's official images
    assert upstream.remote_name("team/app") == "team/app"


def test_environment_variables_set_the_same_keys():
    settings = proxy_of({}, {"REGISTRY_PROXY_REMOTEURL": "http://127.0.0.1:5001"})
    assert settings.upstreams[0].remote_url == "http://127.0.0.1:5001"
    assert settings.upstreams[0].ttl == DEFAULT_TAG_TTL


def test_no_remoteurl_no_proxy():
    assert proxy_of({}) is None
    assert proxy_of({"proxy": {"remoteurl": ""}}) is None


def test_upstreams_by_prefix_longest_first():
    settings = proxy_of({"proxy": {"remoteurl": "http://127.0.0.1:1"}, "pyreg": {"proxy": {"upstreams": [
        {"prefix": "docker.io", "remoteurl": "https://registry-1.docker.io"},
        {"prefix": "docker.io/team/", "remoteurl": "http://127.0.0.1:2", "ttl": "1m", "push": True,
         "username": "robot", "password": "x"},
    ]}}})
    assert settings.upstream_for("docker.io/team/app").remote_url == "http://127.0.0.1:2"
    assert settings.upstream_for("docker.io/team/app").push is True
    hub = settings.upstream_for("docker.io/nginx")
    assert hub.prefix == "docker.io/" and hub.remote_name("docker.io/nginx") == "library/nginx"
    assert settings.upstream_for("docker.iox/a").prefix == ""  # a prefix ends at a slash
    assert settings.upstream_for("mine/app").remote_url == "http://127.0.0.1:1"


@pytest.mark.parametrize("data, message", [
    ({"proxy": {"remoteurl": "ftp://x"}}, "proxy.remoteurl must be a URL"),
    ({"proxy": {"username": "u", "password": "p"}}, "need proxy.remoteurl"),
    ({"proxy": {"remoteurl": "http://a:1", "username": "u"}}, "username and password go together"),
    ({"pyreg": {"proxy": {"upstreams": {"prefix": "a"}}}}, "must be a list"),
    ({"pyreg": {"proxy": {"upstreams": [{"prefix": "a"}]}}}, "remoteurl is required"),
    ({"pyreg": {"proxy": {"upstreams": [{"prefix": "a", "remoteurl": "http://a:1", "tll": "1s"}]}}},
     "unknown key 'tll'"),
    ({"pyreg": {"proxy": {"upstreams": [{"prefix": "a", "remoteurl": "http://a:1"},
                                        {"prefix": "a/", "remoteurl": "http://b:1"}]}}}, "two proxy upstreams"),
    ({"pyreg": {"proxy": {"upstreams": [{"prefix": "a", "remoteurl": "http://a:1", "ttl": "soon"}]}}},
     "upstreams[0].ttl must be a duration"),
])
def test_bad_proxy_settings_stop_start_up_with_one_line(data, message):
    with pytest.raises(ConfigError) as caught:
        proxy_of(data)
    assert message in str(caught.value) and "\n" not in str(caught.value)
