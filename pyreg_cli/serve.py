"""`pyreg serve`: run the registry server (registry:2 compatible config)."""
from __future__ import annotations

import argparse


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
    from registry.config import ConfigError, load_config, parse_addr
    from registry.server import serve

    from .main import CliError
    if args.workers < 1 or args.workers > 64:
        raise CliError("--workers must be between 1 and 64")
    try:
        config = load_config(args.config)
        if args.addr:
            parse_addr(args.addr)
            config.addr = args.addr
    except ConfigError as err:
        raise CliError(str(err)) from None
    if args.storage:
        config.storage = {"filesystem": {"rootdirectory": args.storage}}
    try:
        serve(config, args.workers)
    except ValueError as err:  # the storage factory's configuration errors
        raise CliError(f"invalid storage configuration: {err}") from None
    except OSError as err:
        raise CliError(f"cannot serve on {config.addr}: {err.strerror or err}") from None
    return 0
