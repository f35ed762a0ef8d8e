"""`pyreg serve`: run the registry server (registry:2 compatible config).

The edge of the registry: the configuration file, REGISTRY_* variables and
pyreg's own environment knobs are read here, once, and passed inward.

    PYREG_EVENT_LOOP=uvloop   serve on uvloop instead of asyncio's loop
"""
from __future__ import annotations

import argparse
import os
import sys

CONFIG_EXIT = 2  # a configuration pyreg will not serve: nothing was bound


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the registry server",
        description="Serve the OCI distribution API over a registry:2 storage layout.")
    parser.add_argument("--config", help="registry:2 style YAML config file")
    parser.add_argument("--addr", help="HOST:PORT to listen on (default 127.0.0.1:5000)")
    parser.add_argument("--storage", help="filesystem storage root directory (default ./data)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from registry.config import ConfigError, load_config
    from registry.server import ServeError, serve

    from .main import CliError
    if args.workers < 1 or args.workers > 64:
        raise CliError("--workers must be between 1 and 64", CONFIG_EXIT)
    try:
        config = load_config(args.config, os.environ, addr=args.addr, storage_root=args.storage)
    except ConfigError as err:
        raise CliError(str(err), CONFIG_EXIT) from None
    for warning in config.warnings:
        print(f"pyreg: warning: {warning}", file=sys.stderr)
    try:
        serve(config, args.workers, event_loop=os.environ.get("PYREG_EVENT_LOOP") or "asyncio")
    except ServeError as err:
        raise CliError(str(err)) from None
    return 0
