"""The server's `ssl.SSLContext` from Distribution's `http.tls` keys
(`certificate`, `key`, `clientcas`, `minimumtls`). Only `ssl`: the
certificates pyreg makes itself are registry/certificates.py.
"""
from __future__ import annotations

import ssl
from typing import Iterable

_TLS_VERSIONS = {"tls1.0": ssl.TLSVersion.TLSv1, "tls1.1": ssl.TLSVersion.TLSv1_1,
                 "tls1.2": ssl.TLSVersion.TLSv1_2, "tls1.3": ssl.TLSVersion.TLSv1_3}


class TLSError(ValueError):
    """TLS material that cannot be used; the message is one line for the operator."""


def _reason(err: OSError) -> str:
    return getattr(err, "strerror", None) or getattr(err, "reason", None) or str(err)


def server_ssl_context(certificate: str, key: str | None, clientcas: Iterable[str] = (),
                       minimum: str = "tls1.2") -> ssl.SSLContext:
    """The listening socket's context; with `clientcas`, a client certificate
    signed by one of them is required (mutual TLS). Without `key`, the key
    is in the certificate's file."""
    if minimum not in _TLS_VERSIONS:
        raise TLSError(f"unknown minimum TLS version {minimum!r}: want one of {', '.join(_TLS_VERSIONS)}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = _TLS_VERSIONS[minimum]
    try:
        context.load_cert_chain(certificate, key)
    except (OSError, ssl.SSLError) as err:
        raise TLSError(f"cannot use TLS certificate {certificate} with key {key}: {_reason(err)}") \
            from None
    cas = list(clientcas)
    for path in cas:
        try:
            context.load_verify_locations(cafile=path)
        except (OSError, ssl.SSLError) as err:
            raise TLSError(f"cannot use client CA file {path}: {_reason(err)}") from None
    if cas:
        context.verify_mode = ssl.CERT_REQUIRED
    return context
