"""registry:2 configuration: every key of Distribution's reference is honoured,
refused as not supported yet, or accepted with a warning; typos are refused
with a suggestion; REGISTRY_* variables go through the same table."""
from __future__ import annotations

import pytest

from registry.config import ConfigError, config_from_dict, load_config
from registry.config.table import KEYS, ROWS, Status
from storage_backends.settings import FilesystemSettings, InMemorySettings, S3Settings

# Distribution 2.8's configuration reference, key by key (lists and free-form
# mappings by their own name).
REFERENCE = """
version log.accesslog.disabled log.level log.formatter log.fields.service log.hooks loglevel
storage.filesystem.rootdirectory storage.filesystem.maxthreads storage.azure.accountname
storage.azure.accountkey storage.azure.container storage.azure.rootdirectory storage.gcs.bucket
storage.gcs.keyfile storage.gcs.credentials.type storage.gcs.rootdirectory storage.gcs.chunksize
storage.s3.accesskey storage.s3.secretkey storage.s3.region storage.s3.regionendpoint
storage.s3.forcepathstyle storage.s3.accelerate storage.s3.bucket storage.s3.encrypt storage.s3.keyid
storage.s3.secure storage.s3.skipverify storage.s3.v4auth storage.s3.chunksize
storage.s3.multipartcopychunksize storage.s3.multipartcopymaxconcurrency
storage.s3.multipartcopythresholdsize storage.s3.rootdirectory storage.s3.storageclass
storage.s3.useragent storage.s3.objectacl storage.s3.sessiontoken storage.s3.usedualstack
storage.s3.loglevel storage.swift.username storage.swift.authurl storage.swift.container
storage.oss.accesskeyid storage.oss.bucket storage.inmemory storage.delete.enabled
storage.redirect.disable storage.cache.blobdescriptor storage.cache.blobdescriptorsize
storage.maintenance.uploadpurging.enabled storage.maintenance.uploadpurging.age
storage.maintenance.uploadpurging.interval storage.maintenance.uploadpurging.dryrun
storage.maintenance.readonly.enabled auth.silly.realm auth.silly.service auth.token.realm
auth.token.service auth.token.issuer auth.token.rootcertbundle auth.token.autoredirect
auth.htpasswd.realm auth.htpasswd.path middleware.registry middleware.repository middleware.storage
reporting.bugsnag.apikey reporting.newrelic.licensekey http.addr http.net http.prefix http.host
http.secret http.relativeurls http.draintimeout http.tls.certificate http.tls.key http.tls.clientcas
http.tls.minimumtls http.tls.ciphersuites http.tls.letsencrypt.cachefile http.tls.letsencrypt.email
http.tls.letsencrypt.hosts http.tls.letsencrypt.directoryurl http.debug.addr
http.debug.prometheus.enabled http.debug.prometheus.path http.headers.x-content-type-options
http.http2.disabled notifications.events.includereferences notifications.endpoints redis.addr
redis.password redis.db redis.dialtimeout redis.pool.maxidle redis.tls.enabled
health.storagedriver.enabled health.storagedriver.interval health.storagedriver.threshold
health.file health.http health.tcp proxy.remoteurl proxy.username proxy.password proxy.ttl
compatibility.schema1.signingkeyfile compatibility.schema1.enabled validation.enabled
validation.disabled validation.manifests.urls.allow validation.manifests.urls.deny
""".split()
NOT_YET = [key for key in ROWS if key.status is Status.NOT_YET]
NO_EFFECT = [key for key in ROWS if key.status is Status.NO_EFFECT]


def nested(dotted: str, value) -> dict:
    data = value
    for part in reversed(dotted.split(".")):
        data = {part: data}
    return data


def asking_value(key):
    """A value that asks for the feature (not one of the key's inert values)."""
    if key.subtree or key.choice:
        return {"option": "value"}
    return True if False in key.inert else "/some/value"


def table_key_for(dotted: str) -> str | None:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in KEYS and (end == len(parts) or KEYS[name].subtree):
            return name
    return None


@pytest.mark.parametrize("dotted", REFERENCE)
def test_every_reference_key_is_in_the_table(dotted):
    assert table_key_for(dotted) is not None, dotted


def test_defaults():
    config = config_from_dict({}, environ={})
    assert config.http.addr == "127.0.0.1:5000" and config.http.prefix == ""
    assert config.storage.driver == FilesystemSettings("./data") and config.storage.redirect
    assert config.delete_enabled and not config.read_only and config.log.access_log_disabled
    assert config.automatic_mount and config.warnings == ()


YAML = """\
version: 0.1
log: {level: debug, formatter: json, fields: {service: registry}, accesslog: {disabled: false}}
http:
  addr: 127.0.0.1:6000
  prefix: /my/nested/registry/
  host: https://registry.example.com:5000/
  relativeurls: false
  draintimeout: 60s
  headers: {X-Content-Type-Options: [nosniff]}
  tls: {certificate: /etc/cert.pem, key: /etc/key.pem, minimumtls: tls1.3}
storage:
  filesystem: {rootdirectory: /srv/registry}
  delete: {enabled: false}
  redirect: {disable: true}
  maintenance: {readonly: {enabled: true}}
pyreg: {mount: {automatic: false}}
"""


def test_yaml_keys(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(YAML)
    config = load_config(str(path), environ={})
    http = config.http
    assert http.host_port == ("127.0.0.1", 6000) and http.prefix == "/my/nested/registry"
    assert http.host == "https://registry.example.com:5000" and http.relative_urls is False
    assert http.drain_timeout == 60 and http.headers == (("X-Content-Type-Options", "nosniff"),)
    assert (http.tls.certificate, http.tls.key, http.tls.minimum) == ("/etc/cert.pem", "/etc/key.pem", "tls1.3")
    assert config.storage.driver == FilesystemSettings("/srv/registry") and not config.storage.redirect
    assert not config.delete_enabled and config.read_only and not config.automatic_mount
    assert (config.log.level, config.log.formatter, config.log.fields) == ("debug", "json", (("service", "registry"),))
    assert not config.log.access_log_disabled


def test_environment_overrides_yaml(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(YAML)
    config = load_config(str(path), environ={
        "REGISTRY_HTTP_ADDR": "0.0.0.0:7000", "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/elsewhere", "UNRELATED": "x",
        "REGISTRY_HTTP_HEADERS_X-FRAME-OPTIONS": "[DENY]"})
    assert config.http.addr == "0.0.0.0:7000" and config.delete_enabled is True
    assert config.storage.driver == FilesystemSettings("/elsewhere")
    assert ("x-frame-options", "DENY") in config.http.headers


def test_s3_from_environment_and_names_with_underscores():
    config = config_from_dict({"storage": {"s3": {"bucket": "b"}}}, environ={
        "REGISTRY_STORAGE_S3_REGION": "eu-west-1", "REGISTRY_STORAGE_S3_REGIONENDPOINT": "minio:9000",
        "REGISTRY_STORAGE_S3_SECURE": "false", "REGISTRY_STORAGE_S3_CHUNKSIZE": "6291456",
        "REGISTRY_PYREG_MOUNT_AUTOMATIC": "false"})
    driver = config.storage.driver
    assert isinstance(driver, S3Settings) and (driver.bucket, driver.region) == ("b", "eu-west-1")
    assert driver.endpoint_url == "http://minio:9000" and driver.part_size == 6291456
    assert not config.automatic_mount


def test_a_choice_section_named_by_a_variable():
    config = config_from_dict({"storage": {"filesystem": {}, "delete": {"enabled": False}}},
                              environ={"REGISTRY_STORAGE": "inmemory"})
    assert config.storage.driver == InMemorySettings() and not config.delete_enabled


def test_the_command_line_storage_replaces_the_driver_only():
    config = config_from_dict({"storage": {"s3": {"bucket": "b", "region": "r"},
                                           "delete": {"enabled": False}}}, environ={},
                              addr="127.0.0.1:7001", storage_root="/cli")
    assert config.storage.driver == FilesystemSettings("/cli") and not config.delete_enabled
    assert config.http.addr == "127.0.0.1:7001"


@pytest.mark.parametrize("key", NOT_YET, ids=lambda key: key.name)
def test_not_yet_keys_are_refused_from_yaml(key):
    with pytest.raises(ConfigError, match=rf"^config key {key.name} is not supported yet"):
        config_from_dict(nested(key.name, asking_value(key)), environ={})


@pytest.mark.parametrize("key", NOT_YET, ids=lambda key: key.name)
def test_not_yet_keys_are_refused_from_the_environment(key):
    variable = "REGISTRY_" + key.name.upper().replace(".", "_")
    text = "htpasswd" if key.choice else ("{option: value}" if key.subtree else "true")
    environ = {"REGISTRY_AUTH": key.name.split(".")[1]} if key.name.startswith("auth.") else {variable: text}
    with pytest.raises(ConfigError, match=rf"^config key {key.name} \(from REGISTRY_\w+\) is not supported yet"):
        config_from_dict({}, environ=environ)


@pytest.mark.parametrize("key", NO_EFFECT, ids=lambda key: key.name)
def test_no_effect_keys_warn_once(key):
    data = nested(key.name, asking_value(key))
    if key.name.startswith("storage.s3."):
        data["storage"]["s3"].update(bucket="b", region="r")
    config = config_from_dict(data, environ={})
    assert len(config.warnings) == 1 and config.warnings[0].startswith(f"config key {key.name} has no effect")


@pytest.mark.parametrize("data", [
    {"http": {"tls": {"clientcas": []}, "http2": {"disabled": True}, "net": "tcp"}},
    {"storage": {"s3": {"bucket": "b", "region": "r", "encrypt": False, "v4auth": True}}},
    {"health": {"storagedriver": {"enabled": False, "interval": "10s", "threshold": 3}}},
    {"compatibility": {"schema1": {"enabled": False, "signingkeyfile": "/k"}}},
    {"notifications": {"endpoints": []}, "auth": None, "proxy": {"remoteurl": ""}},
    {"auth": {"none": None}},
], ids=["http", "s3", "health-off", "schema1-off", "empty", "auth-none"])
def test_values_that_ask_for_nothing_are_accepted_silently(data):
    assert config_from_dict(data, environ={}).warnings == ()


@pytest.mark.parametrize("data, environ, message", [
    ({"http": {"adr": "127.0.0.1:1"}}, {}, "^unknown config key http.adr; did you mean http.addr?"),
    ({"storage": {"filesystem": {"rootdir": "/x"}}}, {},
     "did you mean storage.filesystem.rootdirectory?"),
    ({"storge": {}}, {}, "^unknown config key storge; did you mean storage?"),
    ({}, {"REGISTRY_HTTP_ADR": "x"}, r"^unknown setting REGISTRY_HTTP_ADR \(http.adr\); "
                                     "did you mean REGISTRY_HTTP_ADDR?"),
    ({}, {"REGISTRY_STORAGE": "gridfs"}, "^unknown setting REGISTRY_STORAGE .storage.gridfs."),
])
def test_typos_are_refused_with_the_nearest_key(data, environ, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data, environ=environ)


def test_kubernetes_service_links_are_not_settings():
    config = config_from_dict({}, environ={"REGISTRY_PORT": "tcp://10.0.0.1:5000",
                                           "REGISTRY_PORT_5000_TCP_ADDR": "10.0.0.1",
                                           "REGISTRY_SERVICE_HOST": "10.0.0.1"})
    assert config.warnings == ("ignoring REGISTRY_PORT, REGISTRY_PORT_5000_TCP_ADDR, REGISTRY_SERVICE_HOST: "
                               "Kubernetes service links, not settings",)


@pytest.mark.parametrize("data, message", [
    ({"storage": {"filesystem": {}, "s3": {}}}, "more than one storage driver"),
    ({"storage": {"s3": {"bucket": "b"}}}, "^storage.s3.region is required$"),
    ({"storage": {"delete": {"enabled": "maybe"}}}, "storage.delete.enabled must be true or false"),
    ({"storage": "filesystem"}, "storage must be a mapping"),
    ({"storage": {"s3": {"bucket": "b", "region": "r", "chunksize": 1000}}}, "at least 5242880 bytes"),
    ({"http": {"prefix": "/a/../b"}}, "http.prefix must be a plain path"),
    ({"http": {"host": "registry.example.com"}}, "http.host must be a URL"),
    ({"http": {"headers": {"X-A": ["ok\r\nInjected: 1"]}}}, "must not contain a line break"),
    ({"log": {"formatter": "logstash"}}, "log.formatter must be one of text, json"),
    ({"version": "0.2"}, "version must be 0.1"),
    ({"http": {"draintimeout": "soon"}}, "http.draintimeout must be a duration"),
])
def test_bad_values_are_one_clear_error(data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data, environ={})


@pytest.mark.parametrize("text", ["nohost", "host:port", "host:99999", ""])
def test_bad_addresses(text):
    with pytest.raises(ConfigError, match="want HOST:PORT"):
        config_from_dict({"http": {"addr": text}}, environ={})


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "missing.yml"), environ={})
    bad = tmp_path / "bad.yml"
    bad.write_text("http: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(bad), environ={})


def test_auth_and_tls_sections_the_registry2_way():
    config = config_from_dict({}, environ={
        "REGISTRY_AUTH": "htpasswd", "REGISTRY_AUTH_HTPASSWD_REALM": "basic-realm",
        "REGISTRY_AUTH_HTPASSWD_PATH": "/auth/htpasswd",
        "REGISTRY_HTTP_TLS_CERTIFICATE": "/certs/domain.crt",
        "REGISTRY_HTTP_TLS_KEY": "/certs/domain.key", "REGISTRY_HTTP_TLS_CLIENTCAS": "[/certs/ca.pem]"})
    assert (config.auth.scheme, dict(config.auth.options)) == \
        ("htpasswd", {"realm": "basic-realm", "path": "/auth/htpasswd"})
    assert config.http.tls.clientcas == ("/certs/ca.pem",) and config.token_server is None
    token = config_from_dict({"auth": {"token": {
        "realm": "https://auth/token", "service": "registry", "issuer": "auth",
        "rootcertbundle": "/certs/bundle.pem", "autoredirect": False}}}, environ={})
    assert token.auth.scheme == "token" and token.auth.options["rootcertbundle"] == "/certs/bundle.pem"
    assert config_from_dict({"auth": {"none": None}}, environ={}).auth is None


TOKEN = {"realm": "https://r/token", "service": "registry", "issuer": "pyreg"}


def test_the_built_in_issuer_takes_service_and_issuer_from_auth_token():
    config = config_from_dict({"auth": {"token": TOKEN}, "pyreg": {"tokenserver": {
        "keydir": "/keys", "htpasswd": "/users", "rules": "/rules.yml", "lifetime": "10m",
        "algorithm": "eddsa"}}}, environ={})
    server = config.token_server
    assert (server.service, server.issuer, server.key_dir, server.lifetime) == \
        ("registry", "pyreg", "/keys", 600.0)
    assert server.algorithm == "EdDSA" and server.path == "/token"


@pytest.mark.parametrize("data, message", [
    ({"pyreg": {"tokenserver": {"keydir": "/k", "rulez": "/r"}}},
     "^unknown config key pyreg.tokenserver.rulez; did you mean pyreg.tokenserver.rules?"),
    ({"pyreg": {"tokenserver": {"htpasswd": "/u", "service": "s", "issuer": "i"}}},
     "^pyreg.tokenserver.keydir is required"),
    ({"auth": {"token": TOKEN}, "pyreg": {"tokenserver": {"keydir": "/k", "service": "other"}}},
     "differs from auth.token.service"),
    ({"pyreg": {"tokenserver": {"keydir": "/k"}}}, "pyreg.tokenserver.service is required"),
    ({"auth": {"htpasswd": {"realm": "r", "path": "/p"}}, "pyreg": {"tokenserver": {"keydir": "/k"}}},
     "needs auth.token, not auth.htpasswd"),
    ({"auth": {"token": TOKEN}, "pyreg": {"tokenserver": {"keydir": "/k", "path": "/v2/token"}}},
     "path outside /v2"),
    ({"auth": {"token": TOKEN, "htpasswd": {"realm": "r", "path": "/p"}}}, "more than one auth method"),
    ({"auth": {"htpasswd": {"realm": "r"}}}, "^auth.htpasswd.path is required$"),
    ({"auth": {"token": {"realm": "r", "service": "s"}}}, "^auth.token.issuer is required$"),
    ({"pyreg": {"tokenserver": {"keydir": "/k", "algorithm": "HS256"}}}, "must be one of ES256, EdDSA"),
])
def test_access_settings_that_cannot_work_are_one_line(data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data, environ={})
