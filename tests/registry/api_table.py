"""Table-driven API tests: one `Row` per request and its expected answer,
run against the real registry app on a real aiohttp test server.

Paths, header values and string bodies may name seeded objects as
`{layer}`, `{manifest}`, `{upload}`... (see `seed.py`). A row that expects a
4xx also asserts that no storage key appeared: bad input stores nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from yarl import URL

from storage_backends.base import PathNotFound, StorageDriver

Body = bytes | str | Callable[[dict], bytes]
# distribution-spec, "Error Codes": the code "MUST be one of" these.
SPEC_CODES = frozenset({
    "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID",
    "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED", "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS"})


@dataclass(frozen=True)
class Row:
    id: str
    method: str
    path: str
    status: int
    code: str | None = None                     # expected OCI error code
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""
    expect_headers: dict[str, Any] = field(default_factory=dict)  # str (formatted) or predicate
    expect_json: Any = None                     # exact JSON body
    expect_body: Body | None = None             # exact bytes
    then: tuple[tuple[str, str, int], ...] = ()  # follow-up (method, path, status) checks

    def __str__(self) -> str:
        return self.id


def fill(value: Body, seed: dict) -> bytes:
    if callable(value):
        return value(seed)
    if isinstance(value, str):
        return value.format(**seed).encode()
    return value


async def all_keys(driver: StorageDriver, prefix: str = "") -> set[str]:
    """Every key in the store, walked through the driver interface."""
    keys: set[str] = set()
    try:
        children = await driver.list(prefix)
    except PathNotFound:
        return keys
    for child in children:
        info = await driver.stat(child)
        if info.is_dir:
            keys |= await all_keys(driver, child)
        else:
            keys.add(child)
    return keys


async def request(client, method: str, path: str, headers=None, data: bytes = b""):
    """Send the path exactly as written (no client-side `..` normalization)."""
    url = URL(str(client.make_url("/")).rstrip("/") + path, encoded=True)
    return await client.session.request(method, url, headers=headers or {},
                                        data=data if data or method in ("PUT", "PATCH", "POST") else None)


def _check_headers(row: Row, response, seed: dict) -> None:
    for name, expected in row.expect_headers.items():
        actual = response.headers.get(name)
        if callable(expected):
            assert actual is not None and expected(actual), f"{name}: {actual!r}"
        elif expected is None:
            assert actual is None, f"{name} should be absent, is {actual!r}"
        else:
            assert actual == expected.format(**seed), f"{name}: {actual!r}"


async def run_row(row: Row, client, snapshot: Callable, seed: dict) -> None:
    """`snapshot()` returns the set of stored keys (see the `snapshot` fixture)."""
    before = await snapshot()
    headers = {k: v.format(**seed) for k, v in row.headers.items()}
    response = await request(client, row.method, row.path.format(**seed), headers,
                             fill(row.body, seed))
    body = await response.read()
    assert response.status == row.status, (response.status, body[:500])
    if row.code is not None:
        assert response.headers.get("Content-Type", "").startswith("application/json")
        if row.method != "HEAD":
            codes = [error["code"] for error in json.loads(body)["errors"]]
            assert codes[0] == row.code, codes
    if row.status >= 400 and body[:1] == b"{":
        codes = [error["code"] for error in json.loads(body)["errors"]]
        assert set(codes) <= SPEC_CODES, f"non-spec error code in {codes}"
    if row.status >= 400:
        assert await snapshot() <= before, "a rejected request stored something"
    _check_headers(row, response, seed)
    if row.expect_json is not None:
        expected = row.expect_json(seed) if callable(row.expect_json) else row.expect_json
        assert json.loads(body) == expected
    if row.expect_body is not None:
        assert body == fill(row.expect_body, seed)
    for method, path, status in row.then:
        follow = await request(client, method, path.format(**seed))
        await follow.read()
        assert follow.status == status, (method, path, follow.status)
