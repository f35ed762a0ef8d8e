"""registry:2 configuration: YAML keys, REGISTRY_* environment overrides, defaults."""
from __future__ import annotations

import pytest

from registry.config import ConfigError, RegistryConfig, config_from_dict, load_config, parse_addr

YAML = """\
version: 0.1
http:
  addr: 127.0.0.1:6000
  tls:
    certificate: /etc/cert.pem
    key: /etc/key.pem
storage:
  filesystem:
    rootdirectory: /srv/registry
  delete:
    enabled: false
  redirect:
    disable: true
"""


def test_defaults():
    config = config_from_dict({}, environ={})
    assert config.addr == "127.0.0.1:5000"
    assert config.storage == {"filesystem": {"rootdirectory": "./data"}}
    assert config.delete_enabled and not config.redirect_disabled and not config.access_log


def test_yaml_keys(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(YAML)
    config = load_config(str(path), environ={})
    assert config.host_port == ("127.0.0.1", 6000)
    assert (config.tls_certificate, config.tls_key) == ("/etc/cert.pem", "/etc/key.pem")
    assert config.storage == {"filesystem": {"rootdirectory": "/srv/registry"}}
    assert config.delete_enabled is False and config.redirect_disabled is True


def test_environment_overrides_yaml(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(YAML)
    config = load_config(str(path), environ={
        "REGISTRY_HTTP_ADDR": "0.0.0.0:7000", "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/elsewhere", "UNRELATED": "x"})
    assert config.addr == "0.0.0.0:7000"
    assert config.delete_enabled is True
    assert config.storage == {"filesystem": {"rootdirectory": "/elsewhere"}}


def test_s3_from_environment():
    config = config_from_dict({"storage": {"s3": {"bucket": "b"}}}, environ={
        "REGISTRY_STORAGE_S3_REGION": "eu-west-1", "REGISTRY_STORAGE_S3_REGIONENDPOINT": "http://x"})
    assert config.storage == {"s3": {"bucket": "b", "region": "eu-west-1", "regionendpoint": "http://x"}}


@pytest.mark.parametrize("data, message", [
    ({"storage": {"filesystem": {}, "s3": {}}}, "more than one storage driver"),
    ({"storage": {"azure": {}}}, "unsupported storage driver"),
    ({"storage": {"delete": {"enabled": "maybe"}}}, "true or false"),
    ({"storage": "filesystem"}, "must be a mapping"),
])
def test_bad_config_is_one_clear_error(data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data, environ={})


@pytest.mark.parametrize("text", ["nohost", "host:port", "host:99999", ""])
def test_bad_addresses(text):
    with pytest.raises(ConfigError):
        parse_addr(text)


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "missing.yml"), environ={})
    bad = tmp_path / "bad.yml"
    bad.write_text("http: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(bad), environ={})


def test_config_is_a_plain_dataclass():
    assert RegistryConfig(addr="[::1]:5000").host_port == ("::1", 5000)
