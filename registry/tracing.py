"""Optional OpenTelemetry tracing (`pyreg.tracing.enabled: true`): one server
span per request, named by route kind ("GET manifest"), continuing the
caller's trace from its `traceparent` header, with the method, route,
status and request id as attributes.

pyreg uses only the OpenTelemetry API; where spans go is the operator's
choice, made the usual way: run under `opentelemetry-instrument` (the
opentelemetry-distro package, configured by OTEL_* variables), or install
a tracer provider before serving. Without the packages, asking for
tracing stops start-up with one line; without the key, nothing of
OpenTelemetry is imported.
"""
from __future__ import annotations

import importlib.util

from .config import ConfigError

MISSING = ("pyreg.tracing.enabled needs the OpenTelemetry packages: "
           "pip install opentelemetry-api opentelemetry-sdk")


def check_available() -> None:
    """Before serving, without importing aiohttp or OpenTelemetry itself."""
    try:
        found = importlib.util.find_spec("opentelemetry.trace") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ConfigError(MISSING)


def tracing_middleware():
    from aiohttp import web

    from .auth.scopes import RouteKind, route_kind
    from .middlewares import route_template
    from .request_ids import request_id
    try:
        from opentelemetry import propagate, trace
    except ImportError:
        raise ConfigError(MISSING) from None
    tracer = trace.get_tracer("pyreg.registry")

    def kind_of(request: web.Request) -> str:
        template = route_template(request)
        return (route_kind(template) if template is not None else RouteKind.OTHER).value

    @web.middleware
    async def traced(request: web.Request, handler):
        kind = kind_of(request)
        with tracer.start_as_current_span(f"{request.method} {kind}", context=propagate.extract(request.headers),
                                          kind=trace.SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", request.method)
            span.set_attribute("http.route", kind)
            span.set_attribute("url.path", request.path)
            span.set_attribute("pyreg.request_id", request_id(request))
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                span.set_attribute("http.response.status_code", exc.status)
                raise
            span.set_attribute("http.response.status_code", response.status)
            return response
    return traced
