"""Every key of Distribution's configuration reference, and what pyreg does with it.

    honoured   parsed and used (`to` names the field of the typed configuration it sets)
    no effect  accepted with one warning line: by design it changes nothing in pyreg
    not yet    refused: pyreg stops with one line naming the key (exit 2), because
               serving without it would be something else than the operator asked
               for (anonymous instead of authenticated, writable instead of a mirror)

Keys not in this table are typos and refused, with the nearest key suggested.
The same table reads the YAML file and the REGISTRY_* environment variables.
Supporting a key is one line here (`R(...)` becomes `H(..., parser, to)`) plus
the field it sets. A value in a key's `inert` (and None, [] or {}) asks for
nothing and is accepted silently whatever the status; so is everything in a
section turned off by `enabled: false` or `disabled: true`.

`pyreg.*` keys are pyreg's own (Distribution ignores unknown YAML keys).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from storage_backends.settings import S3_MIN_PART_SIZE

from . import operations as ops
from . import values as v
from .proxy import as_remote_url, as_upstreams


class Status(enum.Enum):
    HONOURED = "honoured"
    NO_EFFECT = "has no effect on pyreg"
    NOT_YET = "is not supported yet"


@dataclass(frozen=True)
class Key:
    name: str
    status: Status
    parse: v.Parser | None = None   # honoured keys: value -> typed value
    to: str | None = None           # "section.field" of the typed configuration
    inert: tuple[Any, ...] = ()     # values that ask for nothing
    subtree: bool = False           # the value is a whole mapping or list of its own
    choice: bool = False            # one alternative of its section (a driver, an auth method)
    required: bool = False          # needed when its section is chosen
    note: str = ""                  # why a no-effect key changes nothing


def H(name: str, parse: v.Parser | None = None, to: str | None = None, **extra) -> Key:
    return Key(name, Status.HONOURED, parse, to, **extra)


def W(name: str, note: str, **extra) -> Key:
    return Key(name, Status.NO_EFFECT, note=note, **extra)


def R(name: str, **extra) -> Key:
    return Key(name, Status.NOT_YET, **extra)


LOG_LEVELS = v.as_choice("error", "warn", "info", "debug",
                         aliases={"warning": "warn", "panic": "error", "fatal": "error", "trace": "debug"})
CACHES = "pyreg keeps its own in-memory caches of immutable content"
S3_COPIES = "pyreg copies server-side in parts of up to 5 GiB"

ROWS = (
    H("version", v.as_version),
    # -- log
    H("log.level", LOG_LEVELS, "log.level"),
    H("log.formatter", v.as_choice("text", "json"), "log.formatter"),
    H("log.fields", v.as_fields, "log.fields", subtree=True),
    H("log.accesslog.disabled", v.as_bool, "log.access_log_disabled"),
    W("log.hooks", "pyreg sends no mail or other hook on errors", subtree=True),
    W("loglevel", "deprecated in Distribution; use log.level"),
    # -- storage: exactly one driver
    H("storage.filesystem", choice=True),
    H("storage.filesystem.rootdirectory", v.as_string, "filesystem.root_directory"),
    W("storage.filesystem.maxthreads", "pyreg bounds its own I/O threads"),
    H("storage.inmemory", v.as_nothing, choice=True),
    H("storage.s3", choice=True),
    H("storage.s3.bucket", v.as_string, "s3.bucket", required=True),
    H("storage.s3.region", v.as_string, "s3.region", required=True),
    H("storage.s3.regionendpoint", v.as_string, "s3.endpoint"),
    H("storage.s3.accesskey", v.as_string, "s3.access_key"),
    H("storage.s3.secretkey", v.as_string, "s3.secret_key"),
    H("storage.s3.sessiontoken", v.as_string, "s3.session_token"),
    H("storage.s3.rootdirectory", v.as_string, "s3.root_directory"),
    H("storage.s3.chunksize", v.as_size(S3_MIN_PART_SIZE), "s3.part_size"),
    H("storage.s3.secure", v.as_bool, "s3.secure"),
    H("storage.s3.skipverify", v.as_bool, "s3.skip_verify"),
    H("storage.s3.forcepathstyle", v.as_bool, "s3.force_path_style"),
    R("storage.s3.encrypt", inert=(False,)),
    W("storage.s3.keyid", "used only with storage.s3.encrypt"),
    R("storage.s3.accelerate", inert=(False,)),
    R("storage.s3.usedualstack", inert=(False,)),
    R("storage.s3.storageclass", inert=("STANDARD", "NONE")),
    R("storage.s3.objectacl", inert=("private",)),
    W("storage.s3.v4auth", "pyreg always signs with AWS Signature Version 4", inert=(True,)),
    W("storage.s3.multipartcopychunksize", S3_COPIES),
    W("storage.s3.multipartcopymaxconcurrency", S3_COPIES),
    W("storage.s3.multipartcopythresholdsize", S3_COPIES),
    W("storage.s3.useragent", "pyreg sends boto3's user agent"),
    W("storage.s3.loglevel", "pyreg does not log S3 requests"),
    R("storage.azure", subtree=True, choice=True),
    R("storage.gcs", subtree=True, choice=True),
    R("storage.swift", subtree=True, choice=True),
    R("storage.oss", subtree=True, choice=True),
    # -- storage: registry behaviour
    H("storage.delete.enabled", v.as_bool, "registry.delete_enabled"),
    H("storage.redirect.disable", v.negated(v.as_bool), "storage.redirect"),
    W("storage.cache.blobdescriptor", CACHES),
    W("storage.cache.blobdescriptorsize", CACHES),
    W("storage.cache.layerinfo", CACHES),
    W("storage.tag.concurrencylimit", "pyreg reads a repository's tags in one listing"),
    H("storage.maintenance.uploadpurging.enabled", v.as_bool, "purge.enabled"),
    H("storage.maintenance.uploadpurging.age", v.as_duration, "purge.age"),
    H("storage.maintenance.uploadpurging.interval", v.as_duration, "purge.interval"),
    H("storage.maintenance.uploadpurging.dryrun", v.as_bool, "purge.dry_run"),
    H("storage.maintenance.readonly.enabled", v.as_bool, "registry.read_only"),
    # pyreg's own: online garbage collection (registry/gc/schedule.py), and the
    # clock it shares with every replica's writers (registry/gc/freshness.py)
    H("storage.maintenance.gc.enabled", v.as_bool, "gc.enabled"),
    H("storage.maintenance.gc.interval", v.as_duration, "gc.interval"),
    H("storage.maintenance.gc.grace", v.as_duration, "gc.grace"),
    H("storage.maintenance.gc.deleteuntagged", v.as_bool, "gc.delete_untagged"),
    H("storage.maintenance.gc.dryrun", v.as_bool, "gc.dry_run"),
    H("storage.maintenance.gc.touchage", v.as_duration, "gc.touch_age"),
    H("storage.maintenance.gc.commitwindow", v.as_duration, "gc.commit_window"),
    H("storage.maintenance.gc.lease", v.as_duration, "gc.lease"),
    # -- auth: one method
    H("auth.none", v.as_nothing, choice=True),
    R("auth.silly", subtree=True, choice=True),
    H("auth.htpasswd", choice=True),
    H("auth.htpasswd.realm", v.as_string, "htpasswd.realm", required=True),
    H("auth.htpasswd.path", v.as_string, "htpasswd.path", required=True),
    H("auth.token", choice=True),
    H("auth.token.realm", v.as_string, "token.realm", required=True),
    H("auth.token.service", v.as_string, "token.service", required=True),
    H("auth.token.issuer", v.as_string, "token.issuer", required=True),
    H("auth.token.rootcertbundle", v.as_string, "token.rootcertbundle"),
    H("auth.token.autoredirect", v.as_bool, "token.autoredirect"),
    # Distribution 3's, honoured here too
    H("auth.token.autoredirectpath", v.as_string, "token.autoredirectpath"),
    H("auth.token.jwks", v.as_string, "token.jwks"),
    H("auth.token.signingalgorithms", v.as_strings, "token.signingalgorithms"),
    # -- http
    H("http.addr", v.as_addr, "http.addr"),
    R("http.net", inert=("tcp",)),
    H("http.prefix", v.as_prefix, "http.prefix"),
    H("http.host", v.as_base_url, "http.host"),
    H("http.relativeurls", v.as_bool, "http.relative_urls"),
    H("http.draintimeout", v.as_duration, "http.drain_timeout"),
    H("http.headers", v.as_headers, "http.headers", subtree=True),
    W("http.secret", "pyreg keeps upload state in storage, not in state signed for clients"),
    H("http.tls.certificate", v.as_string, "tls.certificate"),
    H("http.tls.key", v.as_string, "tls.key"),
    H("http.tls.minimumtls", v.as_choice("tls1.0", "tls1.1", "tls1.2", "tls1.3"), "tls.minimum"),
    H("http.tls.clientcas", v.as_strings, "tls.clientcas"),
    R("http.tls.ciphersuites"),
    R("http.tls.letsencrypt", subtree=True),
    H("http.debug.addr", v.as_addr, "debug.addr", inert=("",)),
    H("http.debug.prometheus.enabled", v.as_bool, "debug.prometheus"),
    H("http.debug.prometheus.path", v.as_prefix, "debug.prometheus_path"),
    W("http.http2.disabled", "pyreg serves HTTP/1.1 only", inert=(True,)),
    # -- the rest of the tree
    H("notifications.endpoints", ops.as_endpoints, "notifications.endpoints", subtree=True),
    H("notifications.events.includereferences", v.as_bool, "notifications.include_references"),
    W("redis", "Distribution uses it only for storage.cache.blobdescriptor", subtree=True),
    H("health.storagedriver.enabled", v.as_bool, "health.storage_enabled"),
    H("health.storagedriver.interval", ops.as_positive_duration, "health.storage_interval"),
    H("health.storagedriver.threshold", ops.as_count, "health.storage_threshold"),
    R("health.file", subtree=True),
    R("health.http", subtree=True),
    R("health.tcp", subtree=True),
    H("proxy.remoteurl", as_remote_url, "proxy.remoteurl"),
    H("proxy.username", v.as_string, "proxy.username"),
    H("proxy.password", v.as_string, "proxy.password"),
    H("proxy.ttl", v.as_duration, "proxy.ttl"),
    R("middleware.registry", subtree=True),
    R("middleware.repository", subtree=True),
    R("middleware.storage", subtree=True),
    W("reporting.bugsnag", "pyreg reports to no error-tracking service", subtree=True),
    W("reporting.newrelic", "pyreg reports to no metrics service", subtree=True),
    R("compatibility.schema1.enabled", inert=(False,)),
    W("compatibility.schema1.signingkeyfile", "used only with compatibility.schema1.enabled"),
    W("validation.enabled", "deprecated in Distribution; see validation.disabled"),
    W("validation.disabled", "pyreg has no manifest URL rules to turn off"),
    R("validation.manifests.urls.allow"),
    R("validation.manifests.urls.deny"),
    # -- pyreg's own
    H("pyreg.mount.automatic", v.as_bool, "registry.automatic_mount"),
    # observability and notifications (registry/operations.py)
    H("pyreg.metrics.enabled", v.as_bool, "ops.metrics"),
    H("pyreg.tracing.enabled", v.as_bool, "ops.tracing"),
    H("pyreg.notifications.queuedir", v.as_string, "ops.events_dir"),
    H("pyreg.notifications.queuelimit", ops.as_count, "ops.events_limit"),
    # the built-in token issuer (registry/auth/issuer.py), served at `path`
    H("pyreg.tokenserver.keydir", v.as_string, "tokenserver.key_dir", required=True),
    H("pyreg.tokenserver.htpasswd", v.as_string, "tokenserver.htpasswd"),
    H("pyreg.tokenserver.rules", v.as_string, "tokenserver.rules"),
    H("pyreg.tokenserver.lifetime", v.as_duration, "tokenserver.lifetime"),
    H("pyreg.tokenserver.refreshlifetime", v.as_duration, "tokenserver.refresh_lifetime"),
    H("pyreg.tokenserver.algorithm", v.as_choice("ES256", "EdDSA"), "tokenserver.algorithm"),
    H("pyreg.tokenserver.path", v.as_prefix, "tokenserver.path"),
    H("pyreg.tokenserver.service", v.as_string, "tokenserver.service"),
    H("pyreg.tokenserver.issuer", v.as_string, "tokenserver.issuer"),
    # the pull-through cache's upstreams by name prefix (registry/config/proxy.py)
    H("pyreg.proxy.upstreams", as_upstreams, "proxy.upstreams", subtree=True),
)
KEYS: dict[str, Key] = {key.name: key for key in ROWS}


@dataclass
class Node:
    """A level of the key tree: a key, a section, or a section that is also a key."""
    key: Key | None = None
    children: dict[str, "Node"] | None = None

    @property
    def terminal(self) -> bool:
        """Nothing below is looked up: a leaf, or a key owning its whole subtree."""
        return self.key is not None and (self.key.subtree or not self.children)


def _tree() -> Node:
    root = Node(children={})
    for key in ROWS:
        node = root
        for part in key.name.split("."):
            if node.children is None:
                node.children = {}
            node = node.children.setdefault(part, Node())
        node.key = key
    return root


TREE = _tree()
