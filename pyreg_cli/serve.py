"""`pyreg serve`: run the registry server (registry:2 compatible config).

The edge of the registry: the configuration file, REGISTRY_* variables and
pyreg's own environment knobs are read here, once, and passed inward.

    PYREG_EVENT_LOOP=uvloop   serve on uvloop instead of asyncio's loop

`pyreg token` and `pyreg token-server` (pyreg_cli/tokens.py) read the same
configuration through `registry_config`.
"""
from __future__ import annotations

import argparse
import os
import sys

CONFIG_EXIT = 2  # a configuration pyreg will not serve: nothing was bound
DEFAULT_TLS_DIR = "./tls"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the registry server",
        description="Serve the OCI distribution API over a registry:2 storage layout.")
    parser.add_argument("--config", help="registry:2 style YAML config file")
    parser.add_argument("--addr", help="HOST:PORT to listen on (default 127.0.0.1:5000)")
    parser.add_argument("--storage", help="filesystem storage root directory (default ./data)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--tls-self-signed", action="store_true",
                        help="serve HTTPS with a self-signed certificate for the listening "
                        "address, made on first start and reused after")
    parser.add_argument("--tls-dir", default=DEFAULT_TLS_DIR,
                        help=f"where --tls-self-signed keeps its key and certificate "
                        f"(default {DEFAULT_TLS_DIR})")
    parser.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from registry.config import ConfigError
    from registry.server import ServeError, serve

    from .main import CliError
    if args.workers < 1 or args.workers > 64:
        raise CliError("--workers must be between 1 and 64", CONFIG_EXIT)
    try:
        config = registry_config(args)
        if args.tls_self_signed:
            config = with_self_signed_tls(config, args.tls_dir)
        serve(config, args.workers, event_loop=os.environ.get("PYREG_EVENT_LOOP") or "asyncio")
    except ConfigError as err:
        raise CliError(str(err), CONFIG_EXIT) from None
    except ServeError as err:
        raise CliError(str(err)) from None
    return 0


def registry_config(args: argparse.Namespace):
    """The configuration of `--config`, REGISTRY_* variables and the command
    line's `--addr` and `--storage`; its warnings printed, one line each."""
    from registry.config import load_config
    config = load_config(args.config, os.environ, addr=getattr(args, "addr", None),
                         storage_root=args.storage)
    for warning in config.warnings:
        print(f"pyreg: warning: {warning}", file=sys.stderr)
    return config


def with_self_signed_tls(config, directory: str):
    """`config` serving HTTPS with the certificate in `directory` (made when
    missing or not covering the address); prints the file to trust."""
    import dataclasses

    from registry.certificates import certificate_hosts, ensure_self_signed
    from registry.config import ConfigError
    from registry.tls import TLSError
    if config.http.tls.certificate:
        raise ConfigError("--tls-self-signed and http.tls.certificate both name a certificate")
    try:
        made = ensure_self_signed(directory, certificate_hosts(config.http.host_port[0]))
    except TLSError as err:
        raise ConfigError(str(err)) from None
    print(f"pyreg: TLS certificate to trust: {made.certificate.resolve()}", file=sys.stderr)
    tls = dataclasses.replace(config.http.tls, certificate=str(made.certificate), key=str(made.key))
    return dataclasses.replace(config, http=dataclasses.replace(config.http, tls=tls))
