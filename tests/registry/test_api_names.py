"""Hostile repository names are refused with NAME_INVALID before any storage access."""
from __future__ import annotations

import pytest

from registry.config import RegistryConfig

from .api_table import Row, run_row

LONG = "a" * 256
ROWS = [
    Row(f"{label}-{kind}", method, path.format(name=name), 400, "NAME_INVALID")
    for label, name in [("dotdot", "a/../b"), ("dotdot-encoded", "a/%2E%2E/b"),
                        ("dotdot-only", ".."), ("upper", "Seed/Repo"), ("too-long", LONG),
                        ("empty-component", "a//b"), ("leading-underscore", "_uploads/x"),
                        ("trailing-dash", "repo-"), ("space", "re%20po"), ("nul", "re%00po"),
                        ("newline", "repo%0A"), ("backslash", "a%5Cb")]
    for kind, method, path in [("manifest", "GET", "/v2/{name}/manifests/v1"),
                               ("blob", "HEAD", "/v2/{name}/blobs/{{layer}}"),
                               ("upload", "POST", "/v2/{name}/blobs/uploads/"),
                               ("tags", "GET", "/v2/{name}/tags/list")]
]
ROWS.append(Row("longest-valid-name-is-fine", "GET", f"/v2/{'a' * 255}/manifests/v1", 404,
                "MANIFEST_UNKNOWN"))


@pytest.mark.parametrize("row", ROWS, ids=str)
async def test_invalid_names(row, client, snapshot, seed):
    await run_row(row, client, snapshot, seed)


DISABLED = [
    Row("blob-delete-disabled", "DELETE", "/v2/seed/repo/blobs/{layer}", 405, "UNSUPPORTED",
        then=(("GET", "/v2/seed/repo/blobs/{layer}", 200),)),
    Row("manifest-delete-disabled", "DELETE", "/v2/seed/repo/manifests/{manifest}", 405,
        "UNSUPPORTED", then=(("GET", "/v2/seed/repo/manifests/v1", 200),)),
    Row("tag-delete-disabled", "DELETE", "/v2/seed/repo/manifests/v1", 400, "UNSUPPORTED",
        then=(("GET", "/v2/seed/repo/manifests/v1", 200),)),
]


@pytest.mark.parametrize("registry_config", [RegistryConfig(delete_enabled=False)])
@pytest.mark.parametrize("row", DISABLED, ids=str)
async def test_deletes_can_be_disabled(row, client, snapshot, seed):
    await run_row(row, client, snapshot, seed)
