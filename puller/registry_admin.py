"""pyreg's own registry endpoints beside the distribution spec, through the
one HTTP stack (puller/http, with its auth and retries):

    GET    /v2/_usage               storage usage of every repository (catalog scope)
    GET    /v2/<name>/_usage        one repository's (pull)
    DELETE /v2/_repositories/<name> a whole repository (delete)

A registry without them (Distribution, say) answers 404 or 405, which
becomes one line saying so.
"""
from __future__ import annotations

import json

from ocispec.errors import parse_error_body

from .errors import RegistryError
from .http.auth import repository_scope
from .http.transport import MAX_ERROR_BODY, Transport, raise_for_status

CATALOG_SCOPE = "registry:catalog:*"
MAX_USAGE_BYTES = 64 * 1024 * 1024  # a row is ~150 bytes: room for 400,000 repositories


async def _json(transport: Transport, method: str, host: str, path: str, scope: str, what: str) -> dict:
    async with await transport.request(method, host, path, scopes=(scope,)) as response:
        if response.status >= 400 and response.status != 401:
            _raise(host, what, response.status, await response.read(MAX_ERROR_BODY))
        await raise_for_status(response, what)
        try:
            found = json.loads(await response.read(MAX_USAGE_BYTES))
        except (ValueError, UnicodeDecodeError):
            found = None
        if not isinstance(found, dict):
            raise RegistryError(f"{host} sent a malformed answer for {what}")
        return found


def _raise(host: str, what: str, status: int, body: bytes) -> None:
    """The registry's own error; a 404 or 405 naming none is a registry
    without the route."""
    errors = parse_error_body(body, status)
    if not errors and status in (404, 405):
        raise RegistryError(f"{host} does not offer {what} (not a pyreg registry?)", status)
    first = errors[0] if errors else None
    detail = f"{first.code.code}: {first.message}" if first else f"HTTP {status}"
    raise RegistryError(f"{what}: {detail}", status, first.code if first else None)


async def registry_usage(transport: Transport, host: str, repository: str | None = None) -> dict:
    """The usage report of a registry, or one repository's row."""
    if repository is None:
        return await _json(transport, "GET", host, "/v2/_usage", CATALOG_SCOPE, "storage usage")
    return await _json(transport, "GET", host, f"/v2/{repository}/_usage",
                       repository_scope(repository, "pull"), f"storage usage of {repository}")


async def delete_repository(transport: Transport, host: str, repository: str) -> dict:
    """Delete every tag, manifest and link of a repository; its blobs are
    left for the registry's garbage collection."""
    return await _json(transport, "DELETE", host, f"/v2/_repositories/{repository}",
                       repository_scope(repository, "delete"), f"deleting repository {repository}")
