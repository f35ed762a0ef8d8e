"""Request ids and the access log.

Every response carries `X-Request-Id`: the client's own, when it is sane
(up to 128 letters, digits and `-._:`, so nothing odd reaches a log line
or another service's header), or a fresh UUID. The same id goes into the
access log line and into notification events, so one push can be followed
from the client through the logs to a webhook receiver.

The access log writes one line per request: Apache's combined format with
the id appended as text, and with `log.formatter: json` one object with
the fields by name (JsonFormatter reads them from the record's `fields`).
"""
from __future__ import annotations

import logging
import re
import uuid

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

HEADER = "X-Request-Id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ID_KEY = web.RequestKey("request_id", str)


def request_id(request: web.BaseRequest) -> str:
    """The request's id, decided once."""
    known = request.get(_ID_KEY)
    if known is None:
        given = request.headers.get(HEADER, "")
        known = given if _SANE.fullmatch(given) else str(uuid.uuid4())
        request[_ID_KEY] = known
    return known


async def echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """For `app.on_response_prepare`: every answer, errors and files included."""
    response.headers[HEADER] = request_id(request)


class AccessLogger(AbstractAccessLogger):
    """aiohttp's `access_log_class`: one line per request, with its id."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        remote = request.remote or "-"
        fields = {
            "request_id": request_id(request), "remote_addr": remote, "method": request.method,
            "uri": request.path_qs, "proto": f"HTTP/{request.version.major}.{request.version.minor}",
            "status": response.status, "bytes_sent": response.body_length,
            "duration_ms": round(time * 1000, 3), "user_agent": request.headers.get("User-Agent", ""),
        }
        self.logger.info('%s "%s %s %s" %d %d %.3fms "%s" request_id=%s', remote, request.method,
                         request.path_qs, fields["proto"], response.status, response.body_length,
                         fields["duration_ms"], fields["user_agent"], fields["request_id"],
                         extra={"fields": fields})
