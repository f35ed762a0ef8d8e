"""`pyreg token create|list|revoke` (robot credentials for CI, kept in the
registry's storage) and `pyreg token-server` (the built-in issuer alone).

Both read the registry's configuration as `pyreg serve` does (`--config`,
REGISTRY_* variables, `--storage`), so they see the storage and the
`pyreg.tokenserver` section the registry uses.

    pyreg token create --name ci-publisher --scope 'repository:team/*:pull,push' --expires 30d
    pyreg token list
    pyreg token revoke ci-publisher
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time

from .serve import CONFIG_EXIT, DEFAULT_TLS_DIR, registry_config, with_self_signed_tls


def _config_flags(parser) -> None:
    parser.add_argument("--config", help="registry:2 style YAML config file")
    parser.add_argument("--storage", help="filesystem storage root directory (default ./data)")


def register(subparsers) -> None:
    token = subparsers.add_parser("token", help="robot credentials for CI",
                                  description="Robot credentials, stored hashed in the "
                                  "registry's storage: every replica sees the same set.")
    verbs = token.add_subparsers(dest="token_command", metavar="VERB")
    verbs.required = True
    create = verbs.add_parser("create", help="make a robot; prints its secret once")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", action="append", required=True,
                        help="repository:PATTERN:ACTIONS or registry:catalog:* (repeatable)")
    create.add_argument("--expires", help="lifetime: 30d, 12h, 2w, ... (default: never)")
    verbs.add_parser("list", help="list robots (never their secrets)")
    revoke = verbs.add_parser("revoke", help="delete a robot; its secret stops working")
    revoke.add_argument("name")
    for parser in verbs.choices.values():
        _config_flags(parser)
        parser.set_defaults(func=run_token)
    server = subparsers.add_parser("token-server", help="serve the built-in token issuer alone",
                                   description="Serve /token from the config's pyreg.tokenserver.")
    _config_flags(server)
    server.add_argument("--addr", help="HOST:PORT to listen on (default 127.0.0.1:5000)")
    server.add_argument("--tls-self-signed", action="store_true",
                        help="serve HTTPS with a self-signed certificate made on first start")
    server.add_argument("--tls-dir", default=DEFAULT_TLS_DIR)
    server.set_defaults(func=run_token_server)


def run_token(args: argparse.Namespace) -> int:
    from registry.auth.robots import RobotError, RobotStore, parse_lifetime
    from registry.config import ConfigError
    from registry.server import ServeError, open_driver

    from .main import CliError
    try:
        driver = open_driver(registry_config(args))
        robots = RobotStore(driver, refresh=0)
        lifetime = parse_lifetime(args.expires) if getattr(args, "expires", None) else None
        asyncio.run(_token_verb(args, robots, lifetime))
    except ConfigError as err:
        raise CliError(str(err), CONFIG_EXIT) from None
    except (RobotError, ServeError) as err:
        raise CliError(str(err)) from None
    return 0


async def _token_verb(args: argparse.Namespace, robots, lifetime: float | None) -> None:
    try:
        if args.token_command == "create":
            robot, secret = await robots.create(args.name, args.scope, lifetime)
            print(f"pyreg: robot {robot.name} created; its secret (the password of user "
                  f"{robot.name}) is shown this once:", file=sys.stderr)
            print(secret)
        elif args.token_command == "list":
            _print_robots(await robots.list())
        else:
            await robots.revoke(args.name)
            print(f"Revoked robot {args.name}")
    finally:
        await robots.driver.close()


def _when(moment: float | None) -> str:
    return "never" if moment is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def _print_robots(robots) -> None:
    rows = [("NAME", "SCOPES", "CREATED", "EXPIRES")]
    for robot in sorted(robots, key=lambda r: r.name):
        expires = _when(robot.expires) + (" (expired)" if robot.expired() else "")
        rows.append((robot.name, " ".join(str(s) for s in robot.scopes), _when(robot.created),
                     expires))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])


def run_token_server(args: argparse.Namespace) -> int:
    from registry.config import ConfigError
    from registry.serve_tokens import serve_token_server
    from registry.server import ServeError

    from .main import CliError
    try:
        config = registry_config(args)
        if args.tls_self_signed:
            config = with_self_signed_tls(config, args.tls_dir)
        serve_token_server(config)
    except ConfigError as err:
        raise CliError(str(err), CONFIG_EXIT) from None
    except ServeError as err:
        raise CliError(str(err)) from None
    return 0
