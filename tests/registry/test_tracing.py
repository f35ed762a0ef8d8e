"""OpenTelemetry spans from the registry app (`pyreg.tracing.enabled`), caught
with the SDK's in-memory exporter; and a clear refusal without the packages."""
from __future__ import annotations

import subprocess
import sys

import pytest

from registry.app import make_app
from registry.config import config_from_dict
from storage_backends.memory import MemoryDriver
from tests.support.pyreg_server import REPO_ROOT

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def exporter():
    pytest.importorskip("opentelemetry.sdk.trace", reason="opentelemetry-sdk is not installed")
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # once per process: the tracer proxies to it
    return exporter


async def test_each_request_is_a_server_span_continuing_the_callers_trace(aiohttp_client, exporter):
    exporter.clear()
    app = make_app(config_from_dict({"pyreg": {"tracing": {"enabled": True}}}, {}), MemoryDriver())
    client = await aiohttp_client(app)
    parent = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01", "X-Request-Id": "req-1"}
    assert (await client.get("/v2/app/manifests/missing", headers=parent)).status == 404
    assert (await client.get("/v2/")).status == 200
    first, second = exporter.get_finished_spans()
    assert first.name == "GET manifest" and second.name == "GET base"
    assert format(first.context.trace_id, "032x") == TRACE_ID
    assert first.parent is not None and format(first.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert first.attributes["http.response.status_code"] == 404
    assert first.attributes["pyreg.request_id"] == "req-1"
    assert format(second.context.trace_id, "032x") != TRACE_ID  # a trace of its own


def test_tracing_without_the_packages_stops_start_up_with_one_line(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("pyreg:\n  tracing: {enabled: true}\n")
    code = ("import sys; sys.modules['opentelemetry'] = None\n"  # as if not installed
            "from pyreg_cli.main import main\n"
            f"sys.exit(main(['serve', '--config', {str(config)!r}, '--addr', '127.0.0.1:0',"
            f" '--storage', {str(tmp_path / 'data')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip() == ("pyreg: pyreg.tracing.enabled needs the OpenTelemetry packages: "
                                   "pip install opentelemetry-api opentelemetry-sdk")
