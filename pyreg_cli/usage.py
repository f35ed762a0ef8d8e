"""`pyreg du REGISTRY[/REPO]`: storage usage as a pyreg registry reports it
(`/v2/_usage`), a layer shared by several repositories counted once in the
total. Asked through the client's HTTP stack, with `pyreg login`'s credentials."""
from __future__ import annotations

import argparse
import json

from pyreg_cli.images import transport_flags, run
from pyreg_cli.main import CliError


def register(subparsers) -> None:
    parser = subparsers.add_parser("du", help="show a registry's storage usage per repository",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("target", metavar="REGISTRY[/REPO]", help="e.g. localhost:5000 or localhost:5000/team/app")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    transport_flags(parser)
    parser.set_defaults(func=cmd_du)


def split_target(text: str) -> tuple[str, str | None]:
    """(host, repository or None); the first component must name a host."""
    from ocispec.errors import OciError
    from ocispec.reference import validate_name
    host, _, repository = text.split("://", 1)[-1].partition("/")
    if not host or not ("." in host or ":" in host or host == "localhost"):
        raise CliError(f"pyreg du needs a registry, like localhost:5000[/REPO], not {text!r}")
    if not repository:
        return host, None
    try:
        return host, validate_name(repository.rstrip("/"))
    except OciError as err:
        raise CliError(f"invalid repository name {repository!r}: {err}") from None


def human(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1000
    return str(size)


def cmd_du(args: argparse.Namespace) -> int:
    from puller.registry_admin import registry_usage
    host, repository = split_target(args.target)
    found = run(args, lambda transport: registry_usage(transport, host, repository))
    if args.format == "json":
        print(json.dumps(found, indent=2))
        return 0
    rows = [found] if repository else found.get("repositories", [])
    print(f"{'REPOSITORY':<40} {'TAGS':>5} {'MANIFESTS':>9} {'BLOBS':>6} {'SIZE':>9} {'EXCLUSIVE':>9}")
    for row in rows:
        print(f"{row['name']:<40} {row['tags']:>5} {row['manifests']:>9} {row['blobs']:>6} "
              f"{human(row['bytes']):>9} {human(row['exclusiveBytes']):>9}")
    if not repository:
        total, unreferenced = found["total"], found["unreferenced"]
        print(f"total {human(total['bytes'])} in {total['blobs']} blobs (shared layers once); "
              f"{human(unreferenced['bytes'])} unreferenced, for gc")
    return 0
