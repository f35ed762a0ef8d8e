"""Certificates made with `cryptography`: the registry's self-signed TLS
certificate (`pyreg serve --tls-self-signed`), made on first start, and the
token issuer's signing certificate. The server's `ssl.SSLContext` is
registry/tls.py, which needs only `ssl`: importing `cryptography` costs
about 120 ms of start-up, paid only when something is to be made.

The self-signed certificate names every address clients may use (the listen
address, 127.0.0.1, ::1, localhost, and the host's names when listening on
all addresses). It is not a CA (`CA:FALSE`): clients that trust it (docker's
`certs.d/<host:port>/ca.crt`, `--ca-cert`) trust this server and nothing
else, so a stolen key cannot vouch for other names. Go, OpenSSL and
Python's strict verification accept a self-signed leaf as its own anchor.

Files are written atomically (temporary file, fsync, rename), the key with
mode 0600 in a 0700 directory, under a lock so two servers starting on one
directory cannot pair a key with the other's certificate. After that the
pair is reused as long as it covers the addresses and has not expired.
"""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import ipaddress
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ocispec.layout import write_atomic

from .tls import TLSError

log = logging.getLogger("pyreg.registry")
CERTIFICATE_NAME, KEY_NAME = "registry.crt", "registry.key"
VALIDITY = datetime.timedelta(days=5 * 365)


def write_file_atomically(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` with `data`: a crash leaves the old file or the new one.
    The temporary file is 0600 from its creation (mkstemp), so a key is never
    readable by others, not even half-written."""
    write_atomic(path, data)
    if mode != 0o600:
        os.chmod(path, mode)


def private_key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return x509.DNSName(host)


def self_signed_certificate(key, common_name: str, hosts: Iterable[str] = (),
                            ca: bool = False, validity: datetime.timedelta = VALIDITY,
                            ) -> x509.Certificate:
    """A self-signed certificate for `key`: a TLS server certificate naming
    `hosts`, or (ca=True) a signing root such as a token issuer's."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + validity)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
               .add_extension(x509.KeyUsage(True, False, False, False, False, ca, ca, False, False),
                              True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), False))
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(h) for h in dict.fromkeys(hosts)]), False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                        False)
    digest = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, digest)


def certificate_hosts(listen_host: str) -> list[str]:
    """The names a certificate for this listen address should carry."""
    hosts = ["localhost", "127.0.0.1", "::1"]
    if listen_host in ("", "0.0.0.0", "::"):
        hosts += [socket.gethostname(), socket.getfqdn()]
    else:
        hosts.append(listen_host.strip("[]"))
    return list(dict.fromkeys(h for h in hosts if h))


def _covers(certificate: x509.Certificate, hosts: Iterable[str]) -> bool:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    present = set(names)
    return all(_general_name(h) in present for h in hosts)


@dataclass(frozen=True)
class SelfSigned:
    certificate: Path
    key: Path
    created: bool


def _reusable(cert_path: Path, key_path: Path, hosts: list[str]) -> bool:
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return False
    now = datetime.datetime.now(datetime.timezone.utc)
    same_key = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == \
        key.public_key().public_bytes(serialization.Encoding.DER,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
    return same_key and certificate.not_valid_after_utc > now and _covers(certificate, hosts)


@contextlib.contextmanager
def locked_directory(directory: Path):
    """Held while a key and its certificate are checked or made: another
    process making them at the same moment waits, then reuses them."""
    with open(directory / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_self_signed(directory: str | Path, hosts: list[str]) -> SelfSigned:
    """The key and certificate in `directory`, made when missing, expired or
    not covering `hosts`; reused otherwise."""
    directory = Path(directory)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        cert_path, key_path = directory / CERTIFICATE_NAME, directory / KEY_NAME
        with locked_directory(directory):
            if _reusable(cert_path, key_path, hosts):
                return SelfSigned(cert_path, key_path, False)
            key = ec.generate_private_key(ec.SECP256R1())
            certificate = self_signed_certificate(key, f"pyreg {hosts[0] if hosts else ''}", hosts)
            write_file_atomically(key_path, private_key_pem(key), 0o600)
            write_file_atomically(cert_path, certificate_pem(certificate), 0o644)
    except OSError as err:
        raise TLSError(f"cannot write TLS files in {directory}: {err.strerror}") from None
    log.info("made a self-signed TLS certificate for %s: %s", ", ".join(hosts), cert_path)
    return SelfSigned(cert_path, key_path, True)
