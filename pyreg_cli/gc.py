"""`pyreg gc`: one online garbage collection over a registry's storage, while
registries keep serving it (registry/gc).

    pyreg gc [--dry-run] [--delete-untagged] [--grace DURATION] [--config FILE] [--storage DIR]

Exit codes: 0 collected (or would have, with --dry-run); 1 the collection
failed or stopped (nothing referenced was removed); 2 a configuration or
argument pyreg will not run with; 75 (EX_TEMPFAIL) another collection holds
the lease on this storage: try again later.
"""
from __future__ import annotations

import argparse
import json

CONFIG_EXIT, BUSY_EXIT = 2, 75


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "gc", help="remove blobs, links and uploads nothing references",
        description="Garbage-collect a registry's storage online: mark from every tag and "
        "manifest, sweep what is unreferenced and older than the grace period.")
    parser.add_argument("--config", help="the registry's YAML config (its storage and storage.maintenance.gc)")
    parser.add_argument("--storage", help="filesystem storage root directory (instead of the config's storage)")
    parser.add_argument("--dry-run", action="store_true", help="report what would be removed, remove nothing")
    parser.add_argument("--delete-untagged", action="store_true",
                        help="also remove manifests no tag reaches (and what only they use)")
    parser.add_argument("--grace", metavar="DURATION",
                        help="keep anything written more recently (default: the config's, else 1h)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("-q", "--quiet", action="store_true", help="only the summary line")
    parser.set_defaults(func=run_gc_command)


def run_gc_command(args: argparse.Namespace) -> int:
    from registry.config import ConfigError, as_duration
    from registry.gc import GcBusy, GcError, run_gc

    from .main import CliError
    from .serve import registry_config
    try:
        config = registry_config(args)
        grace = None if args.grace is None else as_duration(args.grace, "--grace")
    except ConfigError as err:
        raise CliError(str(err), CONFIG_EXIT) from None
    if config.read_only and not args.dry_run:
        raise CliError("the registry is read-only (storage.maintenance.readonly): only --dry-run may run",
                       CONFIG_EXIT)
    try:
        report = run_gc(config, args.dry_run, args.delete_untagged or config.gc.delete_untagged, grace)
    except GcBusy as err:
        raise CliError(str(err), BUSY_EXIT) from None
    except GcError as err:
        raise CliError(str(err)) from None
    _print(report, args)
    return 0


def _print(report, args: argparse.Namespace) -> None:
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2))
        return
    if not args.quiet:
        verb = "would remove" if report.dry_run else "removed"
        for item in report.removed:
            where = f" in {item.repository}" if item.repository and item.kind != "upload" else ""
            print(f"{verb} {item.kind} {item.name}{where} ({item.size} bytes)")
        for warning in report.warnings:
            print(f"warning: {warning}")
    print(report.summary())
