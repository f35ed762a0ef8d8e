"""What each request needs, and what a grant allows: one row per request."""
import pytest

from ocispec.errors import OciError
from registry.app import make_app
from registry.auth.grants import exact_grant, full_grant, pattern_grant
from registry.auth.scopes import (CATALOG, Requirement, RouteKind, ScopeError, parse_scope,
                                  parse_scopes, repository, required_access, route_kind)
from registry.config import RegistryConfig
from storage_backends.memory import MemoryDriver

R = RouteKind
ROWS = [
    # method, kind, name, query, needed scopes, mount source
    ("GET", R.BASE, None, {}, [], None),
    ("GET", R.CATALOG, None, {}, ["registry:catalog:*"], None),
    ("GET", R.TAGS, "a/b", {}, ["repository:a/b:pull"], None),
    ("GET", R.MANIFEST, "app", {}, ["repository:app:pull"], None),
    ("HEAD", R.MANIFEST, "app", {}, ["repository:app:pull"], None),
    ("PUT", R.MANIFEST, "app", {}, ["repository:app:pull,push"], None),
    ("DELETE", R.MANIFEST, "app", {}, ["repository:app:delete"], None),
    ("GET", R.BLOB, "app", {}, ["repository:app:pull"], None),
    ("HEAD", R.BLOB, "app", {}, ["repository:app:pull"], None),
    ("DELETE", R.BLOB, "app", {}, ["repository:app:delete"], None),
    ("POST", R.UPLOAD_START, "app", {}, ["repository:app:pull,push"], None),
    ("POST", R.UPLOAD_START, "app", {"digest": "sha256:00"}, ["repository:app:pull,push"], None),
    ("POST", R.UPLOAD_START, "app", {"mount": "sha256:00", "from": "other/src"},
     ["repository:app:pull,push"], "repository:other/src:pull"),
    ("POST", R.UPLOAD_START, "app", {"mount": "sha256:00"}, ["repository:app:pull,push"], None),
    ("POST", R.UPLOAD_START, "app", {"mount": "sha256:00", "from": "app"},
     ["repository:app:pull,push"], None),
    ("POST", R.UPLOAD_START, "app", {"mount": "sha256:00", "from": "Bad\r\nName"},
     ["repository:app:pull,push"], None),
    ("GET", R.UPLOAD, "app", {}, ["repository:app:pull,push"], None),
    ("PATCH", R.UPLOAD, "app", {}, ["repository:app:pull,push"], None),
    ("PUT", R.UPLOAD, "app", {}, ["repository:app:pull,push"], None),
    ("DELETE", R.UPLOAD, "app", {}, ["repository:app:pull,push"], None),
    ("GET", R.REFERRERS, "app", {}, ["repository:app:pull"], None),
    ("POST", R.MANIFEST, "app", {}, [], None),  # 405 follows, for authenticated callers only
    ("GET", R.OTHER, None, {}, [], None),
]


@pytest.mark.parametrize("method,kind,name,query,needed,source", ROWS)
def test_required_access(method, kind, name, query, needed, source):
    requirement = required_access(method, kind, name, query)
    assert [str(s) for s in requirement.scopes] == needed
    assert (str(requirement.mount_source) if requirement.mount_source else None) == source


def test_a_malformed_name_never_reaches_a_scope():
    with pytest.raises(OciError) as caught:
        required_access("GET", R.MANIFEST, 'evil"\r\nX-Injected: 1', {})
    assert caught.value.code.code == "NAME_INVALID"


def test_every_route_of_the_registry_has_a_kind():
    app = make_app(RegistryConfig(), MemoryDriver())
    kinds = {(route.method, route_kind(route.resource.canonical)) for route in app.router.routes()
             if "/v2" in route.resource.canonical}  # /healthz is outside the API: no access control
    assert {route.resource.canonical for route in app.router.routes()
            if "/v2" not in route.resource.canonical} == {"/healthz"}
    assert all(kind is not RouteKind.OTHER for _, kind in kinds), kinds
    assert {kind for _, kind in kinds} == set(RouteKind) - {RouteKind.OTHER}
    assert route_kind("/prefix/v2/{name}/manifests/{reference}") is RouteKind.MANIFEST


@pytest.mark.parametrize("text,expected", [
    ("repository:team/app:pull,push", ("repository", "team/app", ("pull", "push"))),
    ("repository:team/app:push,pull,pull", ("repository", "team/app", ("pull", "push"))),
    ("repository:localhost:5000/app:pull", ("repository", "localhost:5000/app", ("pull",))),
    ("repository(plugin):app:pull", ("repository", "app", ("pull",))),
    ("registry:catalog:*", ("registry", "catalog", ("*",))),
])
def test_parse_scope(text, expected):
    parsed = parse_scope(text)
    assert (parsed.type, parsed.name, parsed.actions) == expected


@pytest.mark.parametrize("text", ["", "repository", "repository:app", "repository::pull",
                                  "Repository:app:pull", "repository:app:PULL", "x" * 2000])
def test_malformed_scopes_are_refused(text):
    with pytest.raises(ScopeError):
        parse_scope(text)


def test_scopes_from_several_values_merge_per_resource():
    scopes = parse_scopes(["repository:a:pull", "repository:a:push repository:b:pull"])
    assert [str(s) for s in scopes] == ["repository:a:pull,push", "repository:b:pull"]


def test_grants():
    token = exact_grant("carol", [repository("a", "pull"), repository("b", "pull", "push"), CATALOG],
                        listable=["team/*"])
    need = Requirement((repository("b", "pull", "push"),), repository("a", "pull"))
    assert token.missing(need) == ()
    assert token.allows(need.mount_source)
    assert not token.allows(repository("a", "push"))
    assert token.may_list("team/x") and not token.may_pull("team/x") and not token.may_list("c")
    robot = pattern_grant("robot:ci", [parse_scope("repository:team/*:pull,push")])
    assert robot.allows(repository("team/sub/app", "pull", "push"))
    assert not robot.allows(repository("teams/app", "pull"))
    assert not robot.allows(repository("team/app", "delete"))
    assert robot.granted([repository("team/x", "pull", "delete"), repository("other", "pull")]) \
        == [repository("team/x", "pull")]
    admin = full_grant("alice")
    assert admin.allows(CATALOG) and admin.allows(repository("any/thing", "delete"))
