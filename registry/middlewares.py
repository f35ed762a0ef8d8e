"""Error rendering: every failure leaves as the spec's `{"errors": [...]}` body,
with a code from the spec's table for the client's mistakes (Distribution's
extra codes such as RANGE_INVALID or PAGINATION_NUMBER_INVALID are not used)
and Distribution's UNKNOWN for the server's own.

Handlers raise `OciError`; aiohttp's own 404/405 become OCI-style bodies too;
a full disk is answered 507 and a storage that fails (after the driver's
retries) 503, each logged in one line; anything unexpected is logged with
its traceback and answered 500.
"""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ocispec.errors import ErrorCode, OciError
from storage_backends.base import InvalidKey, PathNotFound, StorageError, StorageFull

log = logging.getLogger("pyreg.registry")
API_VERSION_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}


def error_response(error: OciError, method: str = "GET", extra_headers=None) -> web.Response:
    headers = {**API_VERSION_HEADER, "Content-Type": "application/json"}
    headers.update(getattr(error, "headers", None) or {})
    headers.update(extra_headers or {})
    body = error.to_body() if method != "HEAD" else None
    if body is None:
        headers["Content-Length"] = str(len(error.to_body()))
    return web.Response(status=error.status, body=body, headers=headers)


def _from_http_exception(exc: web.HTTPException) -> OciError | None:
    if exc.status == 404:
        return OciError(ErrorCode.UNSUPPORTED, "no such endpoint", status=404)
    if exc.status == 405:
        return OciError(ErrorCode.METHOD_UNKNOWN, "method not allowed")
    if exc.status == 413:
        return OciError(ErrorCode.SIZE_TOO_LARGE, "request body too large")
    if 400 <= exc.status < 500:
        return OciError(ErrorCode.UNSUPPORTED, exc.reason, status=exc.status)
    return None


@web.middleware
async def errors_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except OciError as error:
        return error_response(error, request.method)
    except web.HTTPException as exc:
        error = _from_http_exception(exc)
        if error is None:
            raise
        extra = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error_response(error, request.method, extra)
    except HttpProcessingError as exc:
        # A body cut short or badly encoded: the client's fault, and whatever
        # was being written has been cancelled by the handler.
        log.info("bad request body for %s %s: %s", request.method, request.path, exc.message)
        error = OciError(ErrorCode.BLOB_UPLOAD_INVALID, "request body incomplete or malformed")
        return error_response(error, request.method)
    except StorageFull as error:
        log.error("storage full: refused %s %s (%s)", request.method, request.path, error)
        return error_response(OciError(ErrorCode.UNKNOWN, "the registry's storage is full", status=507),
                              request.method)
    except StorageError as error:
        if isinstance(error, (PathNotFound, InvalidKey)):  # a bug of ours, not an outage
            return _unexpected(request)
        # The store failed after the driver's own retries (a bucket answering
        # 503, a refused connection): the client may try again, nothing was kept.
        log.error("storage unavailable: answered 503 to %s %s (%s)", request.method, request.path, error)
        return error_response(OciError(ErrorCode.UNKNOWN, "the registry's storage is unavailable; retry later",
                                       status=503), request.method, {"Retry-After": "1"})
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception:
        return _unexpected(request)


def _unexpected(request: web.Request) -> web.Response:
    log.exception("unexpected error serving %s %s", request.method, request.path)
    return error_response(OciError(ErrorCode.UNKNOWN, "internal server error"), request.method)


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def route_template(request: web.Request) -> str | None:
    """The matched route's template (`/v2/{name}/manifests/{reference}`),
    or None when no route matched."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def is_api_request(request: web.Request) -> bool:
    """Whether a request is for the registry API (under `/v2`, after any
    `http.prefix`), not for the token endpoint beside it."""
    return "/v2" in (route_template(request) or request.path)


@web.middleware
async def read_only_middleware(request: web.Request, handler):
    """`storage.maintenance.readonly`: pushes, deletes and upload starts are
    refused with 405 UNSUPPORTED, as Distribution refuses them (a POST to
    the built-in `/token` is not a write)."""
    if request.method not in READ_METHODS and is_api_request(request):
        raise OciError(ErrorCode.UNSUPPORTED, "the registry is in read-only mode", status=405)
    return await handler(request)


def extra_headers(headers: tuple[tuple[str, str], ...]):
    """`http.headers`: added to every response, errors and blobs included."""
    async def add(_request: web.Request, response: web.StreamResponse) -> None:
        for name, value in headers:
            response.headers.add(name, value)
    return add
