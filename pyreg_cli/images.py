"""Image verbs: login, logout, pull, push, tag, images, rmi, inspect, tags,
delete, copy, save, load. Thin: parse arguments, call `puller.operations`,
print. The client's failures (puller.errors.PullerError) pass through to
main.py, which prints them."""
from __future__ import annotations

import argparse
import getpass
import json
import sys

from pyreg_cli.main import CliError


def _store(args):
    from puller.store import LocalStore
    return LocalStore(args.root)


def _platform(text: str | None):
    from ocispec.descriptor import Platform
    if not text:
        return None
    try:
        return Platform.parse(text)
    except ValueError as err:
        raise CliError(str(err)) from None


# skopeo's number: images rarely have more layers than this, so all move at once
DEFAULT_JOBS = 6


def _jobs(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("must be between 1 and 64")
    return value


def run(args, make_coroutine):
    """Run one command's coroutine with a fresh transport (uvloop when present)."""
    import asyncio
    from puller.http.transport import Transport, TransportOptions

    async def main():
        options = TransportOptions(insecure=args.insecure, ca_cert=args.ca_cert)
        async with Transport(options) as transport:
            return await make_coroutine(transport)

    try:
        import uvloop
        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        return runner.run(main())


def _progress(args):
    from puller.progress import make_progress
    return make_progress(getattr(args, "quiet", False))


# handlers

def cmd_pull(args):
    from puller import operations as ops
    if args.platform and args.all_platforms:
        raise CliError("--platform and --all-platforms exclude each other")
    options = ops.PullOptions(_platform(args.platform), args.all_platforms, args.jobs)
    progress = _progress(args)
    result = run(args, lambda t: ops.pull(_store(args), args.ref, t, options, progress))
    name = str(ops.parse_reference(args.ref))
    progress.say(f"Digest: {result.descriptor.digest}")
    progress.say(f"Status: {'Downloaded newer image' if result.blobs_moved else 'Image is up to date'}"
                 f" for {name}")
    print(name)


def cmd_push(args):
    from puller import operations as ops
    progress = _progress(args)
    target, result = run(args, lambda t: ops.push(_store(args), args.ref, args.dest, t,
                                                 args.jobs, progress))
    progress.say(f"Digest: {result.descriptor.digest}")
    print(f"{target.name}@{result.descriptor.digest}")


def cmd_copy(args):
    from puller import operations as ops
    progress = _progress(args)
    platform = None if args.all_platforms or not args.platform else _platform(args.platform)
    result = run(args, lambda t: ops.copy(args.source, args.dest, t, platform, args.jobs,
                                          progress, args.root))
    print(str(result.descriptor.digest))


def cmd_tag(args):
    from puller import operations as ops
    ops.tag(_store(args), args.source, args.target)


def cmd_images(args):
    from puller import operations as ops
    rows = ops.images(_store(args))
    if args.quiet:
        for row in rows:
            print(row[2])
        return
    if args.format == "json":
        print(json.dumps([dict(zip(("Repository", "Tag", "Id", "Digest", "Size"), r)) for r in rows],
                         indent=2))
        return
    header = ("REPOSITORY", "TAG", "IMAGE ID", "DIGEST", "SIZE")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def cmd_rmi(args):
    from puller import operations as ops
    store = _store(args)
    for text in args.refs:
        name, deleted = ops.remove(store, text)
        print(f"Untagged: {name}")
        if deleted:
            print(f"Deleted {deleted} unreferenced blobs")


def cmd_inspect(args):
    from puller import operations as ops
    if not args.remote and not getattr(args, "images_only", False):
        from pyreg_cli.inspect_container import inspect_named  # a container of that name comes first
        container = inspect_named(args.root, args.ref)
        if container is not None:
            print(json.dumps([container], indent=2))
            return
    if args.remote:
        platform = _platform(args.platform) if args.platform else None
        out = run(args, lambda t: ops.inspect_remote(args.ref, t, platform))
    else:
        out = ops.inspect_local(_store(args), args.ref)
    print(json.dumps(out, indent=2))


def cmd_tags(args):
    from puller import operations as ops
    for tag in run(args, lambda t: ops.list_tags(args.repository, t)):
        print(tag)


def cmd_delete(args):
    from puller import operations as ops
    if args.all:
        found = run(args, lambda t: ops.delete_repository(args.ref, t))
        print(f"Deleted repository {found['name']}: {found['tags']} tags, {found['manifests']} manifests "
              "(blobs stay until gc)")
    elif args.untag:
        print(f"Untagged: {run(args, lambda t: ops.delete_tag(args.ref, t))}")
    else:
        print(f"Deleted: {run(args, lambda t: ops.delete_remote(args.ref, t))}")


def cmd_login(args):
    from puller import operations as ops
    from puller.credentials import Credentials
    username = args.username or input("Username: ")
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = args.password if args.password is not None else getpass.getpass("Password: ")
    if not username or not password:
        raise CliError("login needs a username and a password")
    host = _registry_host(args.registry)
    run(args, lambda t: ops.login(host, Credentials(username, password), t))
    print("Login Succeeded")


def cmd_logout(args):
    from puller import operations as ops
    host = _registry_host(args.registry)
    removed = ops.logout(host)
    print(f"Removing login credentials for {host}" if removed else f"Not logged in to {host}")


def cmd_save(args):
    from puller import operations as ops
    count = ops.save(_store(args), args.refs, args.output)
    if not args.quiet:
        print(f"Saved {count} image(s) to {args.output}", file=sys.stderr)


def cmd_load(args):
    from puller import operations as ops
    for name in ops.load(_store(args), args.input):
        print(f"Loaded image: {name}")


def _registry_host(text: str) -> str:
    host = text.split("://", 1)[-1].split("/", 1)[0]
    return "docker.io" if host in ("index.docker.io", "registry-1.docker.io") else host


def transport_flags(parser) -> None:
    parser.add_argument("--insecure", action="store_true",
                        help="skip TLS verification, fall back to plain HTTP")
    parser.add_argument("--ca-cert", metavar="FILE", help="trust this CA certificate (PEM)")


def _add(subparsers, name, handler, help_text, remote=True):
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(func=handler)
    if remote:
        transport_flags(parser)
    return parser


def register(subparsers) -> None:
    _register_remote_verbs(subparsers)
    _register_local_verbs(subparsers)


def _register_remote_verbs(subparsers) -> None:
    p = _add(subparsers, "login", cmd_login, "log in to a registry")
    p.add_argument("-u", "--username")
    p.add_argument("-p", "--password")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("registry")
    p = _add(subparsers, "logout", cmd_logout, "forget a registry's credentials", remote=False)
    p.add_argument("registry")
    p = _add(subparsers, "pull", cmd_pull, "pull an image into the local store")
    p.add_argument("ref")
    p.add_argument("--platform", help="os/arch[/variant] (default: this host)")
    p.add_argument("--all-platforms", action="store_true", help="pull every platform of an index")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-j", "--jobs", type=_jobs, default=DEFAULT_JOBS,
                   help=f"blobs in parallel (default {DEFAULT_JOBS})")
    p = _add(subparsers, "push", cmd_push, "push a local image to a registry")
    p.add_argument("ref")
    p.add_argument("dest", nargs="?", help="push under this reference instead")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-j", "--jobs", type=_jobs, default=DEFAULT_JOBS)
    p = _add(subparsers, "inspect", cmd_inspect, "show an image as JSON")
    p.add_argument("ref")
    p.add_argument("--remote", action="store_true", help="ask the registry, not the local store")
    p.add_argument("--platform", help="with --remote: resolve an index to this platform")
    p = _add(subparsers, "tags", cmd_tags, "list a remote repository's tags")
    p.add_argument("repository")
    p = _add(subparsers, "delete", cmd_delete, "delete a manifest (by tag or digest), a tag, or a "
             "whole repository from a registry")
    p.add_argument("ref", metavar="REF", help="REPO:TAG or REPO@DIGEST (with --all: REPO)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="the whole repository: every tag and manifest")
    which.add_argument("--untag", action="store_true", help="only the tag; the manifest stays")
    p = _add(subparsers, "copy", cmd_copy, "copy an image between registries, OCI layouts "
             "(oci:DIR[:TAG]) and docker archives (docker-archive:FILE[:REF])")
    p.add_argument("source")
    p.add_argument("dest")
    p.add_argument("--platform", help="copy only this platform of an index")
    p.add_argument("--all-platforms", action="store_true", help="copy every platform (default)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-j", "--jobs", type=_jobs, default=DEFAULT_JOBS)


def _register_local_verbs(subparsers) -> None:
    p = _add(subparsers, "tag", cmd_tag, "name a local image", remote=False)
    p.add_argument("source")
    p.add_argument("target")
    p = _add(subparsers, "images", cmd_images, "list local images", remote=False)
    p.add_argument("-q", "--quiet", action="store_true", help="only image ids")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p = _add(subparsers, "rmi", cmd_rmi, "remove local images and unreferenced blobs", remote=False)
    p.add_argument("refs", nargs="+", metavar="REF")
    p = _add(subparsers, "save", cmd_save, "write images to a docker-archive tar", remote=False)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("refs", nargs="+", metavar="REF")
    p = _add(subparsers, "load", cmd_load, "load a docker-archive, OCI archive or OCI layout",
             remote=False)
    p.add_argument("-i", "--input", required=True)
