"""The catalog: Distribution's order, pages from `last` onwards, and a page
that lists only the directories it needs, at 2,000 repositories."""
from __future__ import annotations

import pytest

from registry import paths
from registry.app import make_app
from registry.config import RegistryConfig
from registry.store.catalog import walk_repositories
from registry.store.links import Links
from storage_backends.filesystem import FilesystemDriver
from tests.support.processes import distribution_registry

from .seed import sha256

LINK = sha256(b"manifest").encode()
# Names whose order differs between plain string order and the catalog's
# (Distribution's: component by component, '/' before every other character).
TRICKY = ["a", "a/b", "a/b/c", "a-b", "a.b", "a_b", "ab", "b/a", "b0", "team/app", "team/app-x",
          "team-x/app"]


class CountingDriver(FilesystemDriver):
    """The real filesystem driver, counting the directories it lists."""
    listed = 0

    async def list(self, prefix: str) -> list[str]:
        self.listed += 1
        return await super().list(prefix)


def make_repositories(root, names) -> None:
    """Repositories as the layout has them: a revision link under `_manifests`."""
    for name in names:
        link = root / paths.revision_link(name, _digest())
        link.parent.mkdir(parents=True, exist_ok=True)
        link.write_bytes(LINK)
        layer = root / paths.repository(name) / "_layers" / "sha256" / ("0" * 64) / "link"
        layer.parent.mkdir(parents=True, exist_ok=True)
        layer.write_bytes(LINK)


def _digest():
    from ocispec.digest import Digest
    return Digest.parse(LINK.decode())


def many_names(count: int) -> list[str]:
    return [f"org{index % 37:02d}/team-{index % 11}/app{index:05d}" if index % 3 else f"solo{index:05d}"
            for index in range(count)]


def catalog_sorted(names) -> list[str]:
    return sorted(names, key=lambda name: name.split("/"))


async def test_order_is_component_by_component(tmp_path):
    make_repositories(tmp_path, TRICKY)
    found = [name async for name in walk_repositories(Links(FilesystemDriver(tmp_path)))]
    assert found == ["a", "a/b", "a/b/c", "a-b", "a.b", "a_b", "ab", "b/a", "b0", "team/app",
                     "team/app-x", "team-x/app"]


@pytest.mark.parametrize("last", ["", "a", "a/b", "a/a", "a-b", "a0", "team", "team/app", "zzz", "0"])
async def test_walk_after_last_is_the_tail_of_the_full_walk(tmp_path, last):
    make_repositories(tmp_path, TRICKY)
    links = Links(FilesystemDriver(tmp_path))
    full = [name async for name in walk_repositories(links)]
    after = [name async for name in walk_repositories(links, after=last)]
    assert after == [name for name in full if name.split("/") > last.split("/")] if last else full


async def test_pages_at_2000_repositories_cover_all_and_cost_their_size(aiohttp_client, tmp_path):
    names = many_names(2000)
    make_repositories(tmp_path, names)
    driver = CountingDriver(tmp_path)
    client = await aiohttp_client(make_app(RegistryConfig(), driver))
    seen, url = [], "/v2/_catalog?n=100"
    while url:
        driver.listed = 0
        response = await client.get(url)
        page = (await response.json())["repositories"]
        assert len(page) == 100 or "Link" not in response.headers
        # a page lists its repositories and the levels on the way to them, never the registry
        assert driver.listed <= 100 + 40 + 11 * 2 + 5, driver.listed
        seen += page
        url = response.headers.get("Link", "").partition(">")[0].lstrip("<") or None
    assert seen == catalog_sorted(names)
    middle = await client.get(f"/v2/_catalog?n=100&last={seen[999]}")
    assert (await middle.json())["repositories"] == seen[1000:1100]
    whole = await client.get("/v2/_catalog")
    assert (await whole.json())["repositories"] == seen[:1000] and "last=" in whole.headers["Link"]


def test_pages_match_distribution_over_the_same_directory(tmp_path):
    import json
    import urllib.request
    names = [name for name in TRICKY if name != "a/b/c"] + many_names(150)
    make_repositories(tmp_path / "root", names)
    from tests.support.pyreg_server import pyreg_server
    pages = {}
    with distribution_registry(tmp_path / "root") as dist, pyreg_server(tmp_path / "root") as ours:
        for label, base in (("distribution", dist), ("pyreg", ours)):
            pages[label], last = [], ""
            while True:
                with urllib.request.urlopen(f"{base}/v2/_catalog?n=7&last={last}") as response:
                    page = json.load(response)["repositories"]
                pages[label] += page
                if len(page) < 7:
                    break
                last = page[-1]
    assert pages["pyreg"] == pages["distribution"] == catalog_sorted(names)
