"""`pyreg build`: from a request (the command line's flags, typed) to an
image in the local store, pushed and exported as asked.

Everything a request can get wrong that needs no build (names, --push
without a registry to push to, an --output form) is refused before any
step runs; a failing step stops the build before any name is given, so a
failed build tags nothing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ocispec.descriptor import Platform
from ocispec.layout import write_atomic
from puller.errors import InvalidReference
from puller.progress import make_progress
from puller.store import LocalStore, host_platform_value, normalize_ref_name

from .bases import PULL_POLICIES, ImageSource
from .context import SourceTree
from .dockerignore import NO_RULES, IgnoreRules
from .errors import BuildError
from .hashes import ContextHashes
from .image import StoredImage, final_config, store_image
from .parser import parse_dockerfile
from .plan import plan_build
from .registries import Registries
from .scope import meta_lookup, meta_scope, platform_args
from .session import Session, Settings
from .stage import Scopes, build_stage

DEFAULT_DOCKERFILE = "Dockerfile"
OUTPUT_KINDS = ("oci:", "docker-archive:")
NETWORKS = ("none", "host")


@dataclass(frozen=True)
class BuildRequest:
    context: str
    dockerfile: str = ""                  # a path; "" is CONTEXT/Dockerfile
    dockerfile_text: str | None = None    # `-f -`: the text, read by the caller
    tags: tuple[str, ...] = ()
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    pull: str = "missing"
    platform: Platform | None = None
    labels: dict[str, str] = field(default_factory=dict)
    network: str = "none"
    epoch: int | None = None
    iidfile: str = ""
    push: bool = False
    output: str = ""
    quiet: bool = False


@dataclass(frozen=True)
class BuildResult:
    image: StoredImage
    pushed: tuple[str, ...]               # what each push printed: name@digest


def names_registry(text: str) -> bool:
    """Whether a name starts with a registry host, as docker tells one."""
    first, slash, _ = text.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


def _checked_names(request: BuildRequest) -> list[str]:
    if request.pull not in PULL_POLICIES:
        raise BuildError(f"--pull {request.pull}: want one of {', '.join(PULL_POLICIES)}")
    if request.network not in NETWORKS:
        raise BuildError(f"--network {request.network}: want one of {', '.join(NETWORKS)}")
    names = []
    for text in request.tags:
        try:
            names.append(normalize_ref_name(text))
        except InvalidReference as err:
            raise BuildError(f"-t {text}: {err}") from None
    if request.push and not any(names_registry(text) for text in request.tags):
        raise BuildError("--push needs a -t that names a registry (HOST[:PORT]/NAME[:TAG])")
    return names


def _output_destination(request: BuildRequest, names: list[str]) -> str:
    """The --output location as puller.locations spells it."""
    output = request.output
    if not output:
        return ""
    if not output.startswith(OUTPUT_KINDS) or not output.partition(":")[2]:
        raise BuildError(f"--output {output}: want oci:DIR or docker-archive:FILE")
    if output.startswith("docker-archive:") and ":" not in output[len("docker-archive:"):]:
        if not names:
            raise BuildError("--output docker-archive:FILE names the image: give -t NAME "
                             "(or docker-archive:FILE:NAME)")
        output += ":" + names[0]
    elif output.startswith("oci:") and ":" not in output[len("oci:"):] and names:
        output += ":" + names[0].rpartition(":")[2]
    return output


def _dockerfile(request: BuildRequest) -> tuple[str, str]:
    """(its name in messages, its text)."""
    if request.dockerfile_text is not None:
        return DEFAULT_DOCKERFILE, request.dockerfile_text
    path = request.dockerfile or os.path.join(request.context, DEFAULT_DOCKERFILE)
    try:
        return request.dockerfile or DEFAULT_DOCKERFILE, Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise BuildError(f"cannot read the Dockerfile {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise BuildError(f"{path} is not UTF-8 text") from None


def _ignore_rules(context: str) -> IgnoreRules:
    path = os.path.join(context, ".dockerignore")
    try:
        return IgnoreRules.parse(Path(path).read_text(encoding="utf-8"), path)
    except FileNotFoundError:
        return NO_RULES
    except (OSError, UnicodeDecodeError) as err:
        raise BuildError(f"cannot read {path}: {err}") from None


def build(store_root: str, request: BuildRequest, registries: Registries | None = None,
          output: BinaryIO | None = None) -> BuildResult:
    names = _checked_names(request)
    destination = _output_destination(request, names)
    file, text = _dockerfile(request)
    dockerfile = parse_dockerfile(text, file)
    store = LocalStore(store_root).init()
    registries = registries or Registries(store, make_progress(request.quiet))
    platform = request.platform or host_platform_value()
    automatic = platform_args(platform, host_platform_value())
    meta = meta_scope(dockerfile.meta_args, request.build_args, automatic, dockerfile.escape)
    plan = plan_build(dockerfile, request.target, meta_lookup(meta, automatic))
    hashes = ContextHashes(store_root)
    context = SourceTree(request.context, _ignore_rules(request.context), hashes)
    settings = Settings(request.no_cache, request.network, request.epoch, platform, request.quiet)
    session = Session(store, context, ImageSource(store, registries, request.pull), settings, output)
    session.stage_names = {stage.name: stage.index for stage in dockerfile.stages if stage.name}
    scopes = Scopes(meta, request.build_args, automatic, dockerfile.escape)
    try:
        for stage_plan in plan.stages:
            session.stages[stage_plan.stage.index] = build_stage(session, stage_plan, scopes)
    finally:
        hashes.save()
    target = session.stages[plan.target]
    image = store_image(store, final_config(target, request.labels), target.layers, names)
    return BuildResult(image, _deliver(request, image, registries, destination))


def _deliver(request: BuildRequest, image: StoredImage, registries: Registries, destination: str):
    if request.iidfile:
        write_atomic(Path(request.iidfile).absolute(), str(image.image_id).encode())
    pushed = []
    if request.push:
        for text, name in zip(request.tags, image.names):
            if names_registry(text):
                pushed.append(registries.push(name))
    if destination:
        registries.export(image.names[0] if image.names else str(image.manifest.digest),
                          image.manifest, destination)
    return tuple(pushed)
