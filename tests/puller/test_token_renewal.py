"""pyreg's client against pyreg's token auth (the registry app with the
built-in issuer, on a real server): tokens cached per registry and scope
until they expire, and a token the registry stops accepting in the middle
of a pull or a push renewed once, the transfer going on."""
from __future__ import annotations

import collections

import pytest

from puller.store import LocalStore
from storage_backends.filesystem import FilesystemDriver
from tests.puller.builders import build_layout
from tests.puller.fake_registry import serve_app
from tests.puller.test_store import load_layout_into_store
from tests.registry.auth.apps import token_registry

LATER = 3600.0  # far past any token's lifetime


class Registry:
    """The token registry, counting what it answered and able to move its
    clocks after the first answer a test names."""

    def __init__(self, tmp_path):
        self.setup = token_registry(FilesystemDriver(tmp_path / "storage"), tmp_path)
        self.token_scopes: list[str] = []
        self.statuses: collections.Counter = collections.Counter()
        self.trigger: tuple[str, str, int] | None = None
        self.setup.app.on_response_prepare.append(self._observe)

    async def _observe(self, request, response) -> None:
        if request.path == "/token":
            self.token_scopes.append(" ".join(sorted(request.query.getall("scope", []))))
        self.statuses[(request.method, _kind(request.path), response.status)] += 1
        if self.trigger and self.trigger == (request.method, _kind(request.path), response.status):
            self.trigger = None
            self.move_clocks(registry=LATER, issuer=LATER)

    def move_clocks(self, registry: float, issuer: float) -> None:
        """The registry now refuses every token issued so far (they expired)."""
        validator = self.setup.controller.validator
        validator.clock = lambda base=validator.clock: base() + registry
        self.setup.issuer.clock = lambda base=self.setup.issuer.clock: base() + issuer


def _kind(path: str) -> str:
    for word in ("/blobs/uploads/", "/blobs/", "/manifests/", "/token"):
        if word in path:
            return word.strip("/")
    return path


@pytest.fixture
def registry(tmp_path):
    return Registry(tmp_path)


@pytest.fixture
def image(tmp_path):
    return build_layout(tmp_path / "src", [30_000, 20_000, 10_000, 5_000])


def emptied(root) -> None:
    """Every image out of the local store, so a pull fetches every blob."""
    store = LocalStore(root)
    for entry in store.images():
        store.remove(entry.name)


def logged_in(pyreg, host: str) -> None:
    result = pyreg("login", "-u", "alice", "-p", "alice-pw", host)
    assert result.code == 0, result.err


def pushed_then_emptied(pyreg, tmp_path, root, registry: Registry, host: str) -> None:
    """The image pushed by alice, then gone from the local store; counts start over."""
    logged_in(pyreg, host)
    load_layout_into_store(pyreg, tmp_path / "src", f"{host}/team-a/app:1")
    assert pyreg("push", "-q", f"{host}/team-a/app:1").code == 0
    emptied(root)
    registry.token_scopes.clear()


def test_tokens_are_fetched_once_per_scope(tmp_path, pyreg, root, registry, image):
    with serve_app(registry.setup.app) as host:
        logged_in(pyreg, host)
        load_layout_into_store(pyreg, tmp_path / "src", f"{host}/team-a/app:1")
        registry.token_scopes.clear()
        assert pyreg("push", "-q", f"{host}/team-a/app:1").code == 0
        emptied(root)
        assert pyreg("pull", "-q", f"{host}/team-a/app:1").code == 0
    # one process per command: each asks once for each scope it uses, however many requests
    assert registry.token_scopes.count("repository:team-a/app:pull,push") == 1
    assert registry.token_scopes.count("repository:team-a/app:pull") == 1
    assert registry.statuses[("GET", "blobs", 200)] == 5   # 4 layers and the config


def test_a_token_refused_mid_pull_is_renewed_once_and_the_pull_goes_on(
        tmp_path, pyreg, root, registry, image):
    with serve_app(registry.setup.app) as host:
        pushed_then_emptied(pyreg, tmp_path, root, registry, host)
        registry.trigger = ("GET", "blobs", 200)
        pulled = pyreg("pull", "-q", f"{host}/team-a/app:1")
        assert pulled.code == 0, pulled.err
    assert LocalStore(root).layout.resolve(f"{host}/team-a/app:1").digest == image.digest
    assert registry.statuses[("GET", "blobs", 401)] >= 1           # the refusal happened
    assert registry.token_scopes.count("repository:team-a/app:pull") == 2  # renewed once


def test_a_token_refused_mid_push_is_renewed_once_and_the_push_goes_on(
        tmp_path, pyreg, registry, image):
    with serve_app(registry.setup.app) as host:
        logged_in(pyreg, host)
        load_layout_into_store(pyreg, tmp_path / "src", f"{host}/team-a/app:1")
        registry.token_scopes.clear()
        registry.trigger = ("PUT", "blobs/uploads", 201)
        pushed = pyreg("push", "-j", "1", f"{host}/team-a/app:1")
        assert pushed.code == 0, pushed.err
        assert registry.statuses[("PUT", "manifests", 201)] == 1
    refused = sum(n for (_, _, status), n in registry.statuses.items() if status == 401)
    assert refused >= 1
    assert registry.token_scopes.count("repository:team-a/app:pull,push") == 2


def test_a_renewed_token_refused_again_ends_the_pull_with_one_line(
        tmp_path, pyreg, root, registry, image):
    with serve_app(registry.setup.app) as host:
        pushed_then_emptied(pyreg, tmp_path, root, registry, host)
        registry.move_clocks(registry=LATER, issuer=0)   # every token it issues is stale
        pulled = pyreg("pull", "-q", "-j", "1", f"{host}/team-a/app:1")
    assert pulled.code == 1 and len(pulled.err.strip().splitlines()) == 1
    assert "unauthorized" in pulled.err
    assert len(registry.token_scopes) <= 2      # one token, one renewal: no loop
