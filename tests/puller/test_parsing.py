"""Table-driven checks of what the client parses at its edges: auth
challenges, Link headers, copy locations, platforms, credentials files."""
import base64
import json

import pytest

from ocispec.descriptor import Platform
from puller.credentials import Credentials, erase_credentials, get_credentials, store_credentials
from puller.errors import InvalidReference
from puller.http.auth import parse_challenge
from puller.http.tls import is_loopback
from puller.locations import parse_location
from puller.remote import _next_link
from puller.store import platform_matches


@pytest.mark.parametrize("header, scheme, params", [
    ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
     'scope="repository:library/busybox:pull"', "bearer",
     {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
      "scope": "repository:library/busybox:pull"}),
    ('Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}),
    ('bearer realm=http://127.0.0.1:5/t, service=x', "bearer",
     {"realm": "http://127.0.0.1:5/t", "service": "x"}),
    ('Bearer realm="a\\"b"', "bearer", {"realm": 'a"b'}),
])
def test_challenges(header, scheme, params):
    challenge = parse_challenge(header)
    assert challenge.scheme == scheme and challenge.params == params


@pytest.mark.parametrize("header", [None, "", "   "])
def test_no_challenge(header):
    assert parse_challenge(header) is None


@pytest.mark.parametrize("header, target", [
    ('</v2/a/tags/list?n=2&last=b>; rel="next"', "/v2/a/tags/list?n=2&last=b"),
    ('<https://r.example/v2/a/tags/list?last=b>;rel=next', "https://r.example/v2/a/tags/list?last=b"),
    ('</x>; rel="prev"', None),
    (None, None),
])
def test_link_header(header, target):
    assert _next_link(header) == target


@pytest.mark.parametrize("text, kind, path, name, reference", [
    ("docker://127.0.0.1:5000/a/b:c", "docker", "", "", "127.0.0.1:5000/a/b:c"),
    ("busybox", "docker", "", "", "docker.io/library/busybox:latest"),
    ("oci:/tmp/layout:v1", "oci", "/tmp/layout", "v1", None),
    ("oci:/tmp/layout", "oci", "/tmp/layout", "", None),
    ("docker-archive:/tmp/a.tar:x/y:z", "docker-archive", "/tmp/a.tar", "x/y:z", None),
])
def test_copy_locations(text, kind, path, name, reference):
    location = parse_location(text)
    assert (location.kind, location.path, location.name) == (kind, path, name)
    assert (str(location.reference) if location.reference else None) == reference


@pytest.mark.parametrize("text", ["dir:/x", "oci-archive:/x.tar", "docker://a/B", "a b"])
def test_unsupported_locations(text):
    with pytest.raises(InvalidReference):
        parse_location(text)


@pytest.mark.parametrize("wanted, offered, match", [
    ("linux/amd64", Platform("linux", "amd64"), True),
    ("linux/arm64", Platform("linux", "arm64", "v8"), True),
    ("linux/arm64/v8", Platform("linux", "arm64"), True),
    ("linux/arm/v7", Platform("linux", "arm", "v6"), False),
    ("linux/amd64", Platform("windows", "amd64"), False),
    ("linux/amd64", None, False),
])
def test_platform_matching(wanted, offered, match):
    assert platform_matches(Platform.parse(wanted), offered) is match


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1:5000", True), ("127.8.9.10", True), ("localhost:80", True), ("[::1]:5000", True),
    ("registry.example.com", False), ("10.0.0.1:5000", False), ("docker.io", False),
])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_credentials_round_trip_in_docker_config(tmp_path):
    store_credentials("docker.io", Credentials("u", "p:w"))
    store_credentials("127.0.0.1:5000", Credentials("v", "q"))
    data = json.loads((tmp_path / "docker-config" / "config.json").read_text())
    assert base64.b64decode(data["auths"]["https://index.docker.io/v1/"]["auth"]) == b"u:p:w"
    assert get_credentials("registry-1.docker.io") == Credentials("u", "p:w")
    assert get_credentials("127.0.0.1:5000").password == "q"
    assert erase_credentials("127.0.0.1:5000") and get_credentials("127.0.0.1:5000") is None
    assert get_credentials("docker.io") is not None
