"""The loop every request to a registry goes through, once: the scheme
(HTTPS; loopback hosts and --insecure ones fall back to plain HTTP), the
Authorization header and the answer to a 401 challenge, retries of
transient failures with backoff, and redirects that never carry
credentials to another host."""
from __future__ import annotations

import asyncio
import os
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from ocispec.errors import ErrorCode, OciError, parse_error_body

from ..errors import RegistryError, Unreachable
from .auth import Authenticator
from .connection import Origin
from ..streams import in_io_thread
from .pool import Pool
from .request import Body, ExchangeFailed, exchange
from .response import Response
from .tls import TlsPolicy, describe_tls_failure

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
MAX_ERROR_BODY = 64 * 1024
PROBE_TIMEOUT = 10


@dataclass(frozen=True)
class TransportOptions:
    insecure: bool = False
    ca_cert: str | None = None
    retries: int = 4
    backoff: float = 0.25


class Transport:
    def __init__(self, options: TransportOptions | None = None):
        self.options = options or TransportOptions()
        self.tls = TlsPolicy(self.options.insecure, self.options.ca_cert)
        self.pool = Pool(self.tls)
        self.auth = Authenticator(self._token_get)
        self._schemes: dict[str, str] = {}

    async def __aenter__(self) -> "Transport":
        return self

    async def __aexit__(self, *exc) -> None:
        self.pool.close()

    async def base_url(self, host: str) -> str:
        if host not in self._schemes:
            self._schemes[host] = await self._probe(host) if self.tls.may_be_plain(host) else "https"
        return f"{self._schemes[host]}://{host}"

    async def _probe(self, host: str) -> str:
        """Whether `host` completes a TLS handshake; the connection is kept."""
        try:
            connection = await in_io_thread(self.pool.open, Origin.of(f"https://{host}"), PROBE_TIMEOUT)
        except ssl.SSLCertVerificationError as err:
            raise _untrusted(host, err) from None
        except OSError:  # plain HTTP answers a handshake with garbage, or nothing listens
            return "http"
        self.pool.give(connection)
        return "https"

    async def request(self, method: str, host: str, path: str, *, scopes: tuple[str, ...] = (),
                      headers: dict[str, str] | None = None, body: Body = None,
                      replayable: bool = True, authenticate: bool = True) -> Response:
        """Send a request to `host` (`path` may be an absolute URL, a Location)
        and return the final answer, whose body the caller reads or closes."""
        url = path if path.startswith(("http://", "https://")) else await self.base_url(host) + path
        attempt = redirects = 0
        challenged = not authenticate
        while True:
            same_host = urlsplit(url).netloc == host
            sent = await self.auth.header(host, scopes) if same_host and authenticate else None
            response = await self._attempt(method, url, host, _with_auth(headers, sent), body,
                                           replayable, attempt < self.options.retries)
            if response is None:
                attempt += 1
                await asyncio.sleep(self.options.backoff * 2 ** attempt)
                continue
            status = response.status
            if status == 401 and same_host and not challenged:
                self.auth.challenged(host, response.headers.get("www-authenticate"), scopes, sent)
                challenged = True
            elif status in RETRY_STATUSES and replayable and attempt < self.options.retries:
                attempt += 1
                await asyncio.sleep(min(_retry_after(response) or
                                        self.options.backoff * 2 ** attempt, 10))
            elif status in REDIRECT_STATUSES and redirects < MAX_REDIRECTS:
                url, redirects = _redirect_target(url, response, host), redirects + 1
                method, body = ("GET", None) if status == 303 else (method, body)
            else:
                return response
            _take_back(body, response)
            await response.discard()

    async def _attempt(self, method: str, url: str, host: str, headers: dict[str, str],
                       body: Body, replayable: bool, retries_left: bool) -> Response | None:
        """One exchange; None means "failed in a way worth retrying". A body
        that cannot be sent twice gets a new connection: a kept one may have
        been closed by the peer while it sat idle."""
        for fresh in ((False, True) if replayable else (True,)):
            try:
                return await exchange(self.pool, method, url, headers, body, fresh)
            except ExchangeFailed as failed:
                err = failed.cause
                if isinstance(err, ssl.SSLCertVerificationError):
                    raise _untrusted(host, err) from None
                if failed.reused and not fresh:
                    continue  # the peer closed the idle connection: try a new one at once
                if replayable and retries_left and not isinstance(err, ConnectionRefusedError):
                    return None
                # nothing listens there: retrying for seconds would only delay the message
                raise Unreachable(f"cannot reach {host}: {describe(err)}"
                                  f"{self._client_certificate_hint(url, host, err)}") from None

    def _client_certificate_hint(self, url: str, host: str, err: BaseException) -> str:
        """A TLS server that wants a client certificate and got none may just
        hang up after the handshake (asyncio's does; Go's sends an alert), which
        reads as a connection closed: say what may be missing."""
        if not url.startswith("https://") or self.tls.certificates(host).client is not None \
                or isinstance(err, ConnectionRefusedError) \
                or not isinstance(err, (ConnectionError, ssl.SSLError)):
            return ""
        return (f" (if it requires a TLS client certificate: client.cert and client.key "
                f"in certs.d/{host}/)")

    async def _token_get(self, url: str, headers: dict[str, str]) -> Response:
        return await self.request("GET", urlsplit(url).netloc, url, headers=headers,
                                  authenticate=False)


def _with_auth(headers: dict[str, str] | None, authorization: str | None) -> dict[str, str]:
    return dict(headers or {}, **({"Authorization": authorization} if authorization else {}))


def _take_back(body: Body, response: Response) -> None:
    """The body goes again: its progress starts over."""
    progress = getattr(body, "progress", None)
    if progress is not None and response.sent:
        progress(-response.sent)


def _redirect_target(url: str, response: Response, host: str) -> str:
    location = response.headers.get("location")
    if not location:
        raise RegistryError(f"{host} sent a redirect without a Location")
    return urljoin(url, location)


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def _untrusted(host: str, err: ssl.SSLError) -> RegistryError:
    return RegistryError(f"TLS certificate of {host} is not trusted: {describe_tls_failure(err)} "
                         f"(trust its CA with --ca-cert or certs.d/{host}/ca.crt)")


def describe(err: BaseException) -> str:
    if isinstance(err, OSError) and err.errno:
        return os.strerror(err.errno).lower()
    if isinstance(err, TimeoutError):
        return "timed out"
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


async def raise_for_status(response: Response, what: str) -> None:
    """Turn a registry's error answer into RegistryError with its OCI message."""
    if response.status < 400:
        return
    body = await response.read(MAX_ERROR_BODY)
    if response.status == 401:
        raise RegistryError(f"{what}: unauthorized (wrong credentials? run: pyreg login)",
                            401, ErrorCode.UNAUTHORIZED)
    errors = parse_error_body(body, response.status)
    first: OciError | None = errors[0] if errors else None
    detail = f"{first.code.code}: {first.message}" if first else f"HTTP {response.status}"
    raise RegistryError(f"{what}: {detail}", response.status, first.code if first else None)
