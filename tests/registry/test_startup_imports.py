"""Start-up imports only what serving needs before the socket is bound
(bench/registry.py measures the time; these check what is loaded)."""
from __future__ import annotations

import subprocess
import sys

from tests.support.pyreg_server import REPO_ROOT


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_configuration_and_binding_load_no_server_libraries():
    loaded = run("import os, sys\n"
                 "from registry.config import load_config\n"
                 "from registry.server import bind_socket\n"
                 "config = load_config(None, {}, addr='127.0.0.1:0')\n"
                 "bind_socket(config.http).close()\n"
                 "print(sorted(m for m in ('aiohttp', 'yaml', 'boto3', 'ctypes', 'difflib') if m in sys.modules))")
    assert loaded == "[]"


def test_yaml_is_loaded_only_for_a_file_or_a_variable():
    assert run("import sys\nfrom registry.config import load_config\n"
               "load_config(None, {'REGISTRY_HTTP_ADDR': '127.0.0.1:1'})\nprint('yaml' in sys.modules)") == "True"


def test_importing_the_server_leaves_the_tls_environment_as_it_was():
    out = run("import os, ssl\n"
              "def state():\n"
              "    return (os.environ.get('SSL_CERT_FILE'), os.environ.get('SSL_CERT_DIR'),\n"
              "            len(ssl.create_default_context().get_ca_certs()))\n"
              "before = state()\n"
              "from registry.server import import_server\nimport_server()\n"
              "print(before == state(), before[2] > 0)")
    assert out == "True True"


def test_without_auth_the_app_loads_no_cryptography():
    loaded = run("import sys\n"
                 "from registry.app import make_app\n"
                 "from registry.config import config_from_dict\n"
                 "from storage_backends.memory import MemoryDriver\n"
                 "make_app(config_from_dict({}, {}), MemoryDriver())\n"
                 "print(sorted(m for m in sys.modules if m.startswith(('cryptography', 'registry.auth.'))))")
    assert loaded == "['registry.auth.caller']"


def test_metrics_notifications_and_tracing_load_only_when_configured():
    code = ("import sys\n"
            "from registry.app import make_app\n"
            "from registry.config import config_from_dict\n"
            "from storage_backends.memory import MemoryDriver\n"
            "make_app(config_from_dict({CONFIG}, {{}}), MemoryDriver())\n"
            "print(sorted(m for m in ('prometheus_client', 'registry.events.notifier', 'opentelemetry')"
            " if m in sys.modules))")
    assert run(code.replace("{CONFIG}", "{}").replace("{{}}", "{}")) == "[]"
    configured = ("{'pyreg': {'metrics': {'enabled': True}}, 'notifications': "
                  "{'endpoints': [{'name': 'l', 'url': 'http://127.0.0.1:1/'}]}}")
    assert run(code.replace("{CONFIG}", configured).replace("{{}}", "{}")) == \
        "['prometheus_client', 'registry.events.notifier']"
