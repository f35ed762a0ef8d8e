"""`pyreg volume create|ls|inspect|rm`: named volumes, docker-like. Thin:
call runtime/volumes, print."""
from __future__ import annotations

import json
import sys

from pyreg_cli.main import CliError
from runtime.errors import RuntimeFailure, describe


def _store(args):
    from runtime.volumes.store import VolumeStore
    return VolumeStore(args.root)


def cmd_create(args) -> int:
    labels = dict(item.partition("=")[::2] for item in args.label)
    try:
        record, _made = _store(args).create(args.name, labels)
    except RuntimeFailure as err:
        raise CliError(describe(err)) from None
    print(record["Name"])
    return 0


def cmd_ls(args) -> int:
    volumes = _store(args).list()
    if args.quiet:
        for volume in volumes:
            print(volume["Name"])
        return 0
    print("DRIVER    VOLUME NAME")
    for volume in volumes:
        print(f"{volume['Driver']:<9} {volume['Name']}")
    return 0


def _each(args, action) -> int:
    failed = 0
    for name in args.names:
        try:
            action(name)
        except RuntimeFailure as err:
            print(f"pyreg: {describe(err)}", file=sys.stderr)
            failed = 1
    return failed


def cmd_inspect(args) -> int:
    store, found = _store(args), []
    failed = _each(args, lambda name: found.append(store.inspect(name)))
    print(json.dumps(found, indent=2))
    return failed


def cmd_rm(args) -> int:
    store = _store(args)

    def remove(name: str) -> None:
        store.remove(name, missing_ok=args.force)
        print(name)
    return _each(args, remove)


def register(subparsers) -> None:
    volume = subparsers.add_parser("volume", help="named volumes: create, ls, inspect, rm")
    verbs = volume.add_subparsers(dest="volume_command", metavar="COMMAND")
    verbs.required = True
    create = verbs.add_parser("create", help="make a volume (a random name if none is given)")
    create.add_argument("name", nargs="?")
    create.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    create.set_defaults(func=cmd_create)
    ls = verbs.add_parser("ls", help="list volumes")
    ls.add_argument("-q", "--quiet", action="store_true", help="only names")
    ls.set_defaults(func=cmd_ls)
    inspect = verbs.add_parser("inspect", help="show volumes as JSON")
    inspect.add_argument("names", nargs="+", metavar="NAME")
    inspect.set_defaults(func=cmd_inspect)
    rm = verbs.add_parser("rm", help="remove volumes no container uses")
    rm.add_argument("-f", "--force", action="store_true", help="no error for a missing volume")
    rm.add_argument("names", nargs="+", metavar="NAME")
    rm.set_defaults(func=cmd_rm)
