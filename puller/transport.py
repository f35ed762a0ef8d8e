"""HTTP to registries: one aiohttp session per command, scheme choice
(plain HTTP for loopback, HTTPS elsewhere), authentication challenges,
retries with backoff, and redirects that never leak credentials to another host."""
from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import ssl
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlencode, urljoin, urlsplit

from ocispec.errors import ErrorCode, OciError, parse_error_body

from .auth import HostAuth, basic_header, parse_challenge, scope_key
from .credentials import get_credentials
from .errors import PullerError, own_failure
from .fastget import speaks_tls
from .lazyimport import lazy_module

aiohttp = lazy_module("aiohttp")  # loaded only when a request needs it

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_ERROR_BODY = 64 * 1024


class RegistryError(PullerError):
    """A registry said no, or could not be reached; the message is one line."""

    def __init__(self, message: str, status: int | None = None, code: ErrorCode | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class TransportOptions:
    insecure: bool = False
    ca_cert: str | None = None
    retries: int = 4
    backoff: float = 0.25


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


BodyFactory = Callable[[], Any]


class Transport:
    def __init__(self, options: TransportOptions | None = None):
        self.options = options or TransportOptions()
        self._session: aiohttp.ClientSession | None = None
        self._hosts: dict[str, HostAuth] = {}
        self._schemes: dict[str, str] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._ssl: ssl.SSLContext | bool = True
        if self.options.insecure:
            self._ssl = False
        elif self.options.ca_cert:
            self._ssl = ssl.create_default_context(cafile=self.options.ca_cert)

    async def __aenter__(self) -> "Transport":
        return self

    async def __aexit__(self, *exc) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session, made at first use: a command whose requests
        all take the fast paths never loads aiohttp."""
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=32, ssl=self._ssl)
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout,
                                                  auto_decompress=False, read_bufsize=2**20)
        return self._session

    def host_auth(self, host: str) -> HostAuth:
        state = self._hosts.setdefault(host, HostAuth())
        if not state.credentials_loaded:
            state.credentials = get_credentials(host)
            state.credentials_loaded = True
        return state

    def ssl_for(self, host: str) -> ssl.SSLContext | bool:
        """Loopback registries are trusted like docker's insecure registries
        unless a CA was given; everything else is verified unless --insecure."""
        if is_loopback(host) and not self.options.ca_cert:
            return False
        return self._ssl

    async def base_url(self, host: str) -> str:
        """HTTPS, except that loopback hosts (and any host with --insecure) fall
        back to plain HTTP when they do not speak TLS."""
        if host not in self._schemes:
            if is_loopback(host) or self.options.insecure:
                self._schemes[host] = await self._probe_scheme(host)
            else:
                self._schemes[host] = "https"
        return f"{self._schemes[host]}://{host}"

    async def _probe_scheme(self, host: str) -> str:
        if self.ssl_for(host) is False:
            # no certificate to check: a TLS handshake alone tells the scheme
            return "https" if await speaks_tls(host) else "http"
        try:
            async with self.session.get(f"https://{host}/v2/", allow_redirects=False,
                                        ssl=self.ssl_for(host)):
                return "https"
        except aiohttp.ClientConnectorCertificateError as err:
            raise RegistryError(f"TLS certificate of {host} is not trusted: "
                                f"{describe(err.certificate_error)}") from None
        except (aiohttp.ClientError, asyncio.TimeoutError, ssl.SSLError):
            return "http"

    async def request(self, method: str, host: str, path: str, *, scopes: tuple[str, ...] = (),
                      headers: dict | None = None, body: BodyFactory | None = None,
                      replayable: bool = True, follow_redirects: bool = True) -> aiohttp.ClientResponse:
        """Send a request to `host` (path may also be an absolute Location URL),
        answering auth challenges and retrying transient failures. The caller
        reads or releases the response. `body` makes a fresh body per attempt."""
        url = path if "://" in path else await self.base_url(host) + path
        auth, authenticated, redirects, attempt = self.host_auth(host), False, 0, 0
        while True:
            same_host = urlsplit(url).netloc == host
            header = await self._auth_header(host, auth, scopes) if same_host else None
            send_headers = dict(headers or {}, **({"Authorization": header} if header else {}))
            response = await self._send(method, url, send_headers, body, host,
                                        retry=attempt < self.options.retries and replayable)
            if response is None:
                attempt += 1
                await asyncio.sleep(self.options.backoff * 2 ** attempt)
                continue
            if response.status == 401 and same_host and not authenticated:
                response.release()
                self._learn_challenge(host, auth, response, scopes, header)
                authenticated = True
                continue
            if response.status in RETRY_STATUSES and attempt < self.options.retries and replayable:
                attempt += 1
                delay = _retry_after(response) or self.options.backoff * 2 ** attempt
                response.release()
                await asyncio.sleep(min(delay, 10))
                continue
            if response.status in REDIRECT_STATUSES and follow_redirects and redirects < 10:
                response.release()
                url, redirects = _redirect_target(url, response, host), redirects + 1
                if response.status == 303:
                    method, body = "GET", None
                continue
            return response

    async def _send(self, method: str, url: str, headers: dict, body: BodyFactory | None,
                    host: str, retry: bool) -> aiohttp.ClientResponse | None:
        """One HTTP exchange; None means "failed in a way worth retrying"."""
        try:
            return await self.session.request(method, url, headers=headers,
                                              data=body() if body else None, allow_redirects=False,
                                              ssl=self.ssl_for(urlsplit(url).netloc))
        except aiohttp.ClientConnectorCertificateError as err:
            raise RegistryError(f"TLS certificate of {host} is not trusted: "
                                f"{describe(err.certificate_error)}") from None
        except aiohttp.ClientConnectorError as err:
            if retry and not isinstance(err.os_error, ConnectionRefusedError):
                return None
            # nothing listens there: retrying for seconds would only delay the message
            raise RegistryError(f"cannot reach {host}: {describe(err)}") from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError,
                asyncio.TimeoutError) as err:
            if own_failure(err) is not None:
                raise own_failure(err) from None  # the body's source failed, not the network
            if retry:
                return None
            raise RegistryError(f"cannot reach {host}: {describe(err)}") from None

    async def auth_header(self, host: str, scopes: tuple[str, ...]) -> str | None:
        """What an authenticated request for `scopes` would send right now."""
        return await self._auth_header(host, self.host_auth(host), scopes)

    async def _auth_header(self, host: str, auth: HostAuth, scopes: tuple[str, ...]) -> str | None:
        """The Authorization value for this scope, fetching a bearer token once
        per scope even when many requests want it at the same moment."""
        key = scope_key(scopes)
        header = auth.header_for(key)
        if header is not None or auth.challenge is None or auth.challenge.scheme != "bearer":
            return header
        async with self._locks.setdefault((host, key), asyncio.Lock()):
            if auth.header_for(key) is None:
                await self._fetch_token(host, auth, scopes)
        return auth.header_for(key)

    def _learn_challenge(self, host: str, auth: HostAuth, response, scopes, sent: str | None) -> None:
        challenge = parse_challenge(response.headers.get("WWW-Authenticate"))
        if challenge is None:
            raise RegistryError(f"{host} requires authentication but sent no challenge", 401,
                                ErrorCode.UNAUTHORIZED)
        if challenge.scheme not in ("basic", "bearer"):
            raise RegistryError(f"{host} asks for unsupported auth scheme {challenge.scheme!r}", 401)
        auth.challenge = challenge
        if challenge.scheme == "basic" and auth.credentials is None:
            raise RegistryError(f"authentication required for {host} (run: pyreg login {host})",
                                401, ErrorCode.UNAUTHORIZED)
        key = scope_key(scopes)
        if sent is not None and auth.header_for(key) == sent:
            auth.tokens.pop(key, None)  # the registry refused it: fetch a new one

    async def _fetch_token(self, host: str, auth: HostAuth, scopes: tuple[str, ...]) -> None:
        params = auth.challenge.params
        realm = params.get("realm")
        if not realm or not realm.startswith(("http://", "https://")):
            raise RegistryError(f"{host} sent a bearer challenge without a usable realm", 401)
        query = [("service", params["service"])] if params.get("service") else []
        query += [("scope", s) for s in (scopes or tuple(filter(None, [params.get("scope")])))]
        headers = {}
        if auth.credentials is not None:
            headers["Authorization"] = basic_header(auth.credentials)
        url = realm + ("&" if "?" in realm else "?") + urlencode(query)
        try:
            async with self.session.get(url, headers=headers,
                                        ssl=self.ssl_for(urlsplit(url).netloc)) as response:
                text = await response.content.read(MAX_ERROR_BODY)
                if response.status in (401, 403):
                    who = "wrong username or password" if auth.credentials else "authentication required"
                    raise RegistryError(f"{who} for {host}" + ("" if auth.credentials else
                                        f" (run: pyreg login {host})"), 401, ErrorCode.UNAUTHORIZED)
                if response.status != 200:
                    raise RegistryError(f"token server for {host} answered {response.status}")
            auth.remember_token(scope_key(scopes), json.loads(text))
        except (ValueError, TypeError):
            raise RegistryError(f"token server for {host} sent a malformed token response") from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            raise RegistryError(f"cannot reach token server for {host}: {describe(err)}") from None


def _redirect_target(url: str, response: aiohttp.ClientResponse, host: str) -> str:
    location = response.headers.get("Location")
    if not location:
        raise RegistryError(f"{host} sent a redirect without a Location")
    return urljoin(url, location)


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def describe(err: BaseException) -> str:
    os_error = getattr(err, "os_error", None)
    if isinstance(os_error, OSError) and os_error.errno:
        return os.strerror(os_error.errno).lower()
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


async def raise_for_status(response: aiohttp.ClientResponse, what: str) -> None:
    """Turn a registry's error answer into RegistryError with its OCI message."""
    if response.status < 400:
        return
    body = await response.content.read(MAX_ERROR_BODY)
    response.release()
    errors = parse_error_body(body, response.status)
    first: OciError | None = errors[0] if errors else None
    if response.status == 401:
        raise RegistryError(f"{what}: unauthorized (wrong credentials? run: pyreg login)",
                            401, ErrorCode.UNAUTHORIZED)
    detail = f"{first.code.code}: {first.message}" if first else f"HTTP {response.status}"
    raise RegistryError(f"{what}: {detail}", response.status, first.code if first else None)
