"""`pyreg token-server`: the built-in token issuer alone, for registries
that validate its tokens elsewhere (another pyreg, or Distribution with
`auth.token.rootcertbundle` naming the issuer's certificate).

It reads the registry's configuration: `pyreg.tokenserver` for the issuer,
`http` for where and how to listen (TLS included), `storage` for the robots.
One process; a token request costs a bcrypt check at most, and verified
credentials are remembered (registry/auth/accounts.py).
"""
from __future__ import annotations

import asyncio
import logging

from .config import ConfigError, RegistryConfig
from .logs import ACCESS_LOGGER, configure_logging
from .server import BACKLOG, bind_socket, import_server, open_driver, ssl_context

log = logging.getLogger("pyreg.registry")


def serve_token_server(config: RegistryConfig) -> None:
    """Serve `/token` until SIGTERM/SIGINT; raises ConfigError or ServeError."""
    if config.token_server is None:
        raise ConfigError("pyreg token-server needs a pyreg.tokenserver section in the config")
    configure_logging(config.log)
    context = ssl_context(config.http.tls)
    sock = bind_socket(config.http, listen=False)
    driver = open_driver(config)
    from .access import issuer_for
    try:
        issuer = issuer_for(config.token_server, driver)
    except ValueError as err:  # a file or key directory that cannot be used
        raise ConfigError(str(err)) from None
    sock.listen(BACKLOG)
    import_server()
    from aiohttp import web

    from .auth.token_server import token_app
    from .drain import serve_until_stopped
    app = token_app(issuer, config.token_server.path)
    app.on_cleanup.append(lambda _app: driver.close())
    log.info("serving tokens for %s on %s://%s%s", config.token_server.service,
             "https" if context else "http", config.http.addr, config.token_server.path)
    access_log = None if config.log.access_log_disabled else logging.getLogger(ACCESS_LOGGER)
    asyncio.run(serve_until_stopped(app, lambda runner: web.SockSite(runner, sock, ssl_context=context),
                                    config.http.drain_timeout, access_log=access_log))
