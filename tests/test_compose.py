"""docker-compose.yml cannot be run here (no images, no compose plugin), so
its `replicas` profile is checked by reading: MinIO, a bucket made once, two
pyreg replicas from one config.yml that pyreg itself accepts, and nginx in
front with the config file the repository ships, naming both replicas."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from registry.config import config_from_dict

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_replicas_profile_has_its_services_and_nothing_leaks_into_the_default():
    services = _compose()["services"]
    profiled = {name for name, service in services.items() if "replicas" in service.get("profiles", [])}
    assert profiled == {"minio", "minio-bucket", "registry-a", "registry-b", "nginx"}
    assert services["registry-a"] == services["registry-b"]  # one image, one command, one config.yml
    assert services["registry-a"]["configs"][0]["source"] == "registry-replicas"
    assert services["registry-a"]["depends_on"]["minio-bucket"]["condition"] == \
        "service_completed_successfully"
    assert "ports" not in services["registry-a"]  # reached through nginx only
    assert services["nginx"]["ports"] == ["5002:5000"]
    for name, service in services.items():
        if name not in profiled:
            assert "replicas" not in service.get("profiles", [])


def test_the_replicas_config_is_one_pyreg_accepts_on_minio():
    content = _compose()["configs"]["registry-replicas"]["content"]
    config = config_from_dict(yaml.safe_load(content), environ={})
    assert config.storage.driver.endpoint == "http://minio:9000"
    assert config.storage.driver.bucket == "registry"
    assert "http://minio:9000" in _compose()["services"]["minio-bucket"]["command"][0]


def test_nginx_sends_to_both_replicas_and_streams_bodies():
    volume = _compose()["services"]["nginx"]["volumes"][0]
    source = ROOT / volume.split(":")[0]
    text = source.read_text()
    upstreams = re.findall(r"^\s*server\s+(\S+):5000", text, re.M)
    assert upstreams == ["registry-a", "registry-b"]
    assert "client_max_body_size 0;" in text and "proxy_request_buffering off;" in text
    assert "proxy_pass http://pyreg;" in text
