"""`pyreg build`: parse the flags into a BuildRequest, run the builder,
print the image id. Progress and RUN output go to stderr; the id alone to
stdout, so `id=$(pyreg build -q .)` works."""
from __future__ import annotations

import os
import sys

from pyreg_cli.main import CliError


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    values = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key:
            raise CliError(f"{flag} {item!r}: the name is empty")
        values[key] = value
    return values


def _epoch(text: str | None) -> int | None:
    """--timestamp, else SOURCE_DATE_EPOCH: whole seconds since 1970."""
    source = "--timestamp"
    if text is None:
        text, source = os.environ.get("SOURCE_DATE_EPOCH") or None, "SOURCE_DATE_EPOCH"
    if text is None:
        return None
    if not text.isdigit():
        raise CliError(f"{source}={text!r}: want whole seconds since 1970 (such as 1700000000)")
    return int(text)


def build_request(args):
    from builder.build import BuildRequest
    from builder.errors import BuildError
    from builder.scope import parse_build_args
    from ocispec.descriptor import Platform
    try:
        platform = Platform.parse(args.platform) if args.platform else None
        build_args = parse_build_args(args.build_arg, os.environ)
    except (ValueError, BuildError) as err:
        raise CliError(str(err)) from None
    text = sys.stdin.read() if args.file == "-" else None
    return BuildRequest(
        context=args.context, dockerfile="" if args.file in (None, "-") else args.file,
        dockerfile_text=text, tags=tuple(args.tag), build_args=build_args, target=args.target,
        no_cache=args.no_cache, pull=args.pull, platform=platform, labels=_pairs(args.label, "--label"),
        network=args.network, epoch=_epoch(args.timestamp), iidfile=args.iidfile or "", push=args.push,
        output=args.output or "", quiet=args.quiet)


def cmd_build(args) -> int:
    from builder.build import build
    from builder.errors import BuildError
    from builder.registries import Registries
    from puller.http.transport import TransportOptions
    from puller.progress import make_progress
    from puller.store import LocalStore
    request = build_request(args)
    store = LocalStore(args.root)
    registries = Registries(store, make_progress(args.quiet), TransportOptions(args.insecure, args.ca_cert))
    try:
        result = build(args.root, request, registries)
    except BuildError as err:
        raise CliError(str(err)) from None
    if not args.quiet:
        for name in result.image.names:
            print(f"Successfully tagged {name}", file=sys.stderr)
        for line in result.pushed:
            print(f"Pushed {line}", file=sys.stderr)
    print(result.image.image_id)
    return 0


def register(subparsers) -> None:
    from builder.bases import PULL_POLICIES
    from builder.build import NETWORKS
    p = subparsers.add_parser("build", help="build an image from a Dockerfile",
                              description="build an image from a Dockerfile and a context directory")
    p.set_defaults(func=cmd_build)
    p.add_argument("context", metavar="CONTEXT")
    p.add_argument("-t", "--tag", action="append", default=[], metavar="NAME[:TAG]")
    p.add_argument("-f", "--file", metavar="FILE",
                   help="the Dockerfile (default CONTEXT/Dockerfile; - reads stdin)")
    p.add_argument("--build-arg", action="append", default=[], metavar="K=V",
                   help="a build arg; K alone takes the value from the environment")
    p.add_argument("--target", metavar="STAGE", help="build this stage (and what it needs) only")
    p.add_argument("--no-cache", action="store_true", help="run every step, reuse nothing")
    p.add_argument("--pull", nargs="?", const="always", default="missing",
                   choices=PULL_POLICIES, help="base images: pull when missing (default), "
                   "always, or never")
    p.add_argument("--platform", metavar="OS/ARCH", help="the target platform (default: this host's)")
    p.add_argument("--label", action="append", default=[], metavar="K=V", help="a label of the image")
    p.add_argument("--network", choices=NETWORKS, default="none",
                   help="RUN steps' network (default none)")
    p.add_argument("--timestamp", metavar="EPOCH", help="clamp file times, history and created to this "
                   "(default: $SOURCE_DATE_EPOCH): reproducible images")
    p.add_argument("--iidfile", metavar="FILE", help="write the image id here")
    p.add_argument("--push", action="store_true", help="push every -t that names a registry")
    p.add_argument("--output", metavar="oci:DIR|docker-archive:FILE", help="also write the image there")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image id")
    p.add_argument("--insecure", action="store_true", help="skip TLS verification, fall back to plain HTTP")
    p.add_argument("--ca-cert", metavar="FILE", help="trust this CA certificate (PEM)")
