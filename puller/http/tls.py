"""Which TLS a registry host gets: the one place that builds SSL contexts.

Trusted: the system's trust store, plus `--ca-cert`, plus docker's
`certs.d` convention, per host:

    <certs.d>/<host:port>/ca.crt           more CAs for that host (any *.crt)
    <certs.d>/<host:port>/client.cert      a client certificate for mutual TLS
    <certs.d>/<host:port>/client.key       (any *.cert with the *.key of its name)

`certs.d` is /etc/docker/certs.d (docker's), /etc/containers/certs.d and
~/.config/containers/certs.d (podman's and skopeo's), or the directories in
PYREG_CERTS_D (':' between them) instead. Loopback registries are trusted
like docker's insecure registries unless a CA was given for them (on the
command line or in certs.d); every other host is verified unless
--insecure. Contexts are made once per kind of trust, as loading the system
bundle costs tens of milliseconds.
"""
from __future__ import annotations

import ipaddress
import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import RegistryError

DEFAULT_CERTS_DIRS = ("/etc/docker/certs.d", "/etc/containers/certs.d",
                      "~/.config/containers/certs.d")


def is_loopback(host: str) -> bool:
    """Whether `host` (host[:port]) is localhost or in 127.0.0.0/8 or ::1."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def certs_dirs() -> list[Path]:
    configured = os.environ.get("PYREG_CERTS_D")
    names = configured.split(":") if configured is not None else DEFAULT_CERTS_DIRS
    return [Path(name).expanduser() for name in names if name]


@dataclass(frozen=True)
class HostCertificates:
    """What the certs.d directories hold for one host."""
    cas: tuple[Path, ...] = ()
    client: tuple[Path, Path] | None = None  # (certificate, key)


def host_certificates(host: str, directories: list[Path]) -> HostCertificates:
    cas: list[Path] = []
    client = None
    for directory in directories:
        folder = directory / host
        if not folder.is_dir():
            continue
        cas += sorted(folder.glob("*.crt"))
        for certificate in sorted(folder.glob("*.cert")):
            key = certificate.with_suffix(".key")
            if not key.exists():
                raise RegistryError(f"client certificate {certificate} has no key {key.name} beside it")
            client = client or (certificate, key)
    return HostCertificates(tuple(cas), client)


class TlsPolicy:
    def __init__(self, insecure: bool = False, ca_cert: str | None = None,
                 directories: list[Path] | None = None):
        self.insecure, self.ca_cert = insecure, ca_cert
        self.directories = certs_dirs() if directories is None else directories
        self._hosts: dict[str, HostCertificates] = {}
        self._contexts: dict[tuple, ssl.SSLContext] = {}
        self._lock = threading.Lock()  # contexts are made in the client's I/O threads

    def certificates(self, host: str) -> HostCertificates:
        if host not in self._hosts:
            self._hosts[host] = host_certificates(host, self.directories)
        return self._hosts[host]

    def verifies(self, host: str) -> bool:
        """Whether the certificate of `host` is checked."""
        if self.insecure:
            return False
        return bool(self.ca_cert or self.certificates(host).cas) or not is_loopback(host)

    def may_be_plain(self, host: str) -> bool:
        """Whether `host` may turn out to speak plain HTTP: loopback hosts and,
        with --insecure, any host are tried over TLS first, then plain."""
        return self.insecure or is_loopback(host)

    def context(self, host: str) -> ssl.SSLContext:
        certificates, verify = self.certificates(host), self.verifies(host)
        kind = (verify, certificates.cas if verify else (), certificates.client)
        with self._lock:
            if kind not in self._contexts:
                self._contexts[kind] = self._make(verify, certificates)
            return self._contexts[kind]

    def _make(self, verify: bool, certificates: HostCertificates) -> ssl.SSLContext:
        if verify:
            context = ssl.create_default_context()  # the system's trust store
            for cafile in ([self.ca_cert] if self.ca_cert else []) + list(certificates.cas):
                _load(context.load_verify_locations, f"CA certificate {cafile}", cafile=str(cafile))
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if certificates.client:
            certificate, key = certificates.client
            _load(context.load_cert_chain, f"client certificate {certificate}", str(certificate),
                  str(key))
        return context


def _load(method, what: str, *args, **kwargs) -> None:
    try:
        method(*args, **kwargs)
    except (OSError, ssl.SSLError) as err:
        reason = getattr(err, "strerror", None) or getattr(err, "reason", None) or str(err)
        raise RegistryError(f"cannot use {what}: {reason}") from None


def describe_tls_failure(err: ssl.SSLError) -> str:
    return getattr(err, "verify_message", None) or err.reason or str(err)
