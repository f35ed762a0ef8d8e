"""Running the registry: N forked worker processes, each with its own
listening socket on the same port (SO_REUSEPORT), so the kernel spreads
connections evenly across them instead of letting one process win every
accept race on a shared socket.

Every worker keeps only caches in memory (manifests and blob sizes by
digest, running upload hashes), so any worker can serve any request.

Start-up: the socket is bound before aiohttp and the app are imported (most
of the start-up time), so a taken address fails at once and clients that
connect meanwhile wait in the backlog instead of being refused.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import ssl
import sys
import time

from .config import ConfigError, HttpSettings, RegistryConfig, TlsSettings
from .logs import ACCESS_LOGGER, configure_logging
from .serving_operations import forget_worker, serving_operations
from .sockets import BACKLOG, ServeError, bind_socket  # noqa: F401 - ServeError: the command line's

_PR_SET_PDEATHSIG = 1
MAX_AUTH_HEADER = 32 * 1024
log = logging.getLogger("pyreg.registry")


def ssl_context(tls: TlsSettings) -> ssl.SSLContext | None:
    """The listening socket's TLS (None: plain HTTP); raises ConfigError."""
    from .tls import TLSError, server_ssl_context
    if not tls.certificate:
        if tls.clientcas:
            raise ConfigError("http.tls.clientcas needs http.tls.certificate and http.tls.key")
        return None
    try:
        return server_ssl_context(tls.certificate, tls.key, tls.clientcas, tls.minimum)
    except TLSError as err:
        raise ConfigError(str(err)) from None


def prepared_access(config: RegistryConfig, driver):
    """The access control `auth` and `pyreg.tokenserver` describe, built
    before anything listens; raises ConfigError with one line (a missing
    htpasswd file, a key directory that cannot be written, ...)."""
    if config.auth is None and config.token_server is None:
        return None
    from .access import build_access
    try:
        return build_access(config, driver)
    except ValueError as err:  # every setup problem of registry.auth is one
        raise ConfigError(str(err)) from None


def open_driver(config: RegistryConfig):
    from storage_backends.factory import make_driver
    try:
        return make_driver(config.storage)
    except OSError as err:
        raise ServeError(f"cannot open {config.storage.driver_name} storage: {err.strerror or err}") from None


def new_loop(event_loop: str):
    """The standard loop, unless `event_loop` is "uvloop" (PYREG_EVENT_LOOP).

    Measured on this 2-core box: uvloop served manifests and small blobs no
    faster than asyncio (within noise, ~3.5-8k req/s either way), but it has
    no loop.sendfile, so aiohttp's FileResponse falls back to copying and a
    64 MiB blob GET dropped from ~1000-1400 MB/s to ~170-430 MB/s."""
    import asyncio
    if event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("PYREG_EVENT_LOOP=uvloop but uvloop is not installed; using asyncio")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


@contextlib.contextmanager
def _client_contexts_without_cas():
    """aiohttp builds two client TLS contexts when it is imported, each
    loading the system's CA bundle: 45 ms of the 250 ms from exec to the
    first answer, measured here. The registry makes no client requests
    (S3 goes through botocore, with its own bundle), so while aiohttp is
    imported the bundle is an empty file: those two contexts trust no one,
    and would refuse every certificate rather than accept any."""
    if "aiohttp" in sys.modules:
        yield
        return
    saved = {name: os.environ.get(name) for name in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    os.environ.update(SSL_CERT_FILE=os.devnull, SSL_CERT_DIR=os.devnull)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def import_server() -> None:
    """aiohttp and the app, imported once per process before serving."""
    with _client_contexts_without_cas():
        import aiohttp.web  # noqa: F401
    from . import app  # noqa: F401


def run_worker(config: RegistryConfig, sock: socket.socket, context: ssl.SSLContext | None,
               event_loop: str = "asyncio", driver=None, sweep_at_start: bool = False,
               access=None) -> None:
    import asyncio

    import_server()
    from aiohttp import web

    from .app import make_app
    from .drain import serve_until_stopped
    from .request_ids import AccessLogger
    loop = new_loop(event_loop)
    asyncio.set_event_loop(loop)
    access_log = None if config.log.access_log_disabled else logging.getLogger(ACCESS_LOGGER)
    app = make_app(config, driver, sweep_at_start, access)
    try:
        loop.run_until_complete(serve_until_stopped(
            app, lambda runner: web.SockSite(runner, sock, ssl_context=context),
            config.http.drain_timeout, access_log=access_log, access_log_class=AccessLogger,
            **_header_limits(config)))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _header_limits(config: RegistryConfig) -> dict[str, int]:
    """With access control, header fields up to 32 KiB: an over-long token
    is then refused by the auth checks with a 401 and an audit line, as the
    token specification's clients expect, instead of aiohttp's bare 400 at
    8 KiB. Without it, aiohttp's defaults."""
    if config.auth is None:
        return {}
    return {"max_field_size": MAX_AUTH_HEADER, "max_line_size": MAX_AUTH_HEADER}


def _die_with_parent() -> None:
    """A worker must not outlive the process that started it."""
    import ctypes  # only workers need it: 5 ms of every start otherwise
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _fork_worker(config: RegistryConfig, context, event_loop: str, sweep_at_start: bool) -> int:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            _die_with_parent()
            run_worker(config, bind_socket(config.http), context, event_loop,
                       sweep_at_start=sweep_at_start)
        except (SystemExit, KeyboardInterrupt):
            pass  # a second stop signal (a terminal's Ctrl-C reaches the whole group)
        except BaseException:
            log.exception("worker failed")
            code = 1
        finally:
            os._exit(code)
    return pid


def serve(config: RegistryConfig, workers: int = 1, event_loop: str = "asyncio") -> None:
    """Serve until SIGTERM/SIGINT; raises ServeError when it cannot start,
    ConfigError (before anything listens) when TLS or auth cannot be used."""
    with serving_operations(config, workers):  # the debug address, the metrics of several workers
        _serve(config, workers, event_loop)


def _serve(config: RegistryConfig, workers: int, event_loop: str) -> None:
    configure_logging(config.log)
    context = ssl_context(config.http.tls)
    if workers <= 1:
        # Listening at once lets early clients wait in the backlog; with
        # access control, only once it could be built.
        checked = config.auth is not None or config.token_server is not None
        sock = bind_socket(config.http, listen=not checked)
        driver = open_driver(config)
        access = prepared_access(config, driver)
        if checked:
            sock.listen(BACKLOG)
        _announce(config, context, workers)
        run_worker(config, sock, context, event_loop, driver, sweep_at_start=True, access=access)
        return
    # Bound but not listening: reports a taken address here, in the parent,
    # and holds the port while the workers bind theirs; never accepts.
    # Each worker opens its own driver (clients and pools do not survive fork),
    # but the modules are imported once, here, and shared by every fork;
    # so is access control checked once, each worker building its own.
    reservation = bind_socket(config.http, listen=False)
    import_server()
    prepared_access(config, open_driver(config))  # a storage that cannot be opened fails here
    _announce(config, context, workers)
    try:
        _supervise(config, context, workers, event_loop)
    finally:
        reservation.close()


def _announce(config: RegistryConfig, context, workers: int) -> None:
    scheme = "https" if context else "http"
    log.info("serving the registry on %s://%s%s/ from %s storage with %d worker%s", scheme,
             config.http.addr, config.http.prefix, config.storage.driver_name, workers,
             "s" if workers > 1 else "")


def _supervise(config: RegistryConfig, context, workers: int, event_loop: str) -> None:
    """Keep `workers` processes running until told to stop; the first one
    sweeps leftovers at start-up."""
    children = {_fork_worker(config, context, event_loop, number == 0) for number in range(workers)}
    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return
        children.discard(pid)
        forget_worker(pid)
        if not stopping:
            log.warning("worker %d exited with status %d; starting another", pid, status)
            time.sleep(1)  # a worker that dies at once must not become a fork loop
            children.add(_fork_worker(config, context, event_loop, False))
