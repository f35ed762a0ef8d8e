"""Which TLS a registry host gets: the one place that builds SSL contexts.

Loopback registries are trusted like docker's insecure registries unless a
CA was given; every other host is verified against the system's trust store
(or --ca-cert) unless --insecure. Contexts are made once per kind, as
loading a CA bundle costs tens of milliseconds.
"""
from __future__ import annotations

import ipaddress
import ssl


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


class TlsPolicy:
    def __init__(self, insecure: bool = False, ca_cert: str | None = None):
        self.insecure, self.ca_cert = insecure, ca_cert
        self._contexts: dict[bool, ssl.SSLContext] = {}

    def verifies(self, host: str) -> bool:
        """Whether the certificate of `host` is checked."""
        if self.insecure:
            return False
        return bool(self.ca_cert) or not is_loopback(host)

    def may_be_plain(self, host: str) -> bool:
        """Whether `host` may turn out to speak plain HTTP: loopback hosts and,
        with --insecure, any host are tried over TLS first, then plain."""
        return self.insecure or is_loopback(host)

    def context(self, host: str) -> ssl.SSLContext:
        verify = self.verifies(host)
        if verify not in self._contexts:
            self._contexts[verify] = self._make(verify)
        return self._contexts[verify]

    def _make(self, verify: bool) -> ssl.SSLContext:
        if not verify:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=self.ca_cert)


def describe_tls_failure(err: ssl.SSLError) -> str:
    return getattr(err, "verify_message", None) or err.reason or str(err)
