"""The steps that write layers: RUN (a container), COPY and ADD (files from
the context, a stage or an image), WORKDIR (the directory, when missing).
Each returns the step's cache record; every other instruction only changes
the config, and gets a record without a layer (stage.py).

COPY's key describes what it copies (paths relative to the sources, types,
modes, owners, content digests or link targets) and its instruction; what
the stage's filesystem says of the destination is in the parent's key.
A copy from a stage or an image is keyed by that stage's last key or the
image's manifest digest instead, so a cached rebuild reads none of it.
A context file no build hashed yet is hashed while the layer is written (the
key is computed after); an archive ADD unpacks is hashed before, so it is
read twice.
"""
from __future__ import annotations

import dataclasses
import os
import posixpath
import tarfile
from typing import Callable

from runtime.runspec.users import resolve_user

from . import instructions as ins
from .blobs import write_layer
from .cache import CacheRecord, copy_sources
from .context import SourceTree
from .copylayer import write_copy
from .errors import BuildError
from .layer import write_upper
from .mountpoints import mountpoints_layer
from .runstep import RunRequest, run_command
from .session import Session, StageState
from .sources import CopyItem, CopyRequest, Owner, parse_chmod, parse_chown, select
from .tarstream import LayerResult, tar_header
from .view import LayeredTree

_WORKDIR_MODE = 0o755


# RUN

def run(session: Session, state: StageState, instruction: ins.Run) -> CacheRecord:
    network = session.settings.network if instruction.network == "default" else instruction.network
    key = session.key(state, instruction, {"network": network})
    return session.record_for(key, lambda: _run_layer(session, state, instruction, network))


def _run_layer(session: Session, state: StageState, instruction: ins.Run, network: str) -> LayerResult | None:
    argv = instruction.command.argv(tuple(state.config.shell))
    request = RunRequest(argv, state.scope.run_environment(), state.config.workdir,
                         state.config.settings.get("User") or "", network, f"pyreg build (stage {state.label})")
    root = str(session.store.root)
    snapshots = state.snapshots(session)
    with mountpoints_layer(root, state.view(session)) as mounts, \
            run_command(root, [*snapshots, mounts], request, session.run_output) as outcome:
        if outcome.code != 0:
            raise _failed(instruction, argv, outcome.code, outcome.tail)
        if not os.listdir(outcome.upper):
            return None
        return write_layer(session.store.layout, lambda stream: write_upper(outcome.upper, stream),
                           session.settings.epoch)


def _failed(instruction: ins.Run, argv: list[str], code: int, tail: list[str]) -> BuildError:
    message = f"{' '.join(argv)!r} exited with code {code}"
    if tail:
        message += "; its last lines of output:\n" + "\n".join(f"    {line}" for line in tail)
    where = instruction.location
    return BuildError.at(where.file, where.start, "RUN", message)


# COPY and ADD

def copy(session: Session, state: StageState, instruction: ins.Copy,
         source: Callable[[], SourceTree] | None, source_key: str) -> CacheRecord:
    """`source` opens the stage's or image's tree (None: the context)."""
    add = isinstance(instruction, ins.Add)
    chmod = parse_chmod(instruction.chmod)
    request = CopyRequest(instruction.sources, instruction.dest, state.config.workdir, None, chmod,
                          keep_owners=source is not None, add=add, link=instruction.link)

    def write(tree: SourceTree) -> LayerResult:
        view = state.view(session)
        owner = _owner(instruction.chown, view)
        items = select(tree, dataclasses.replace(request, chown=owner), view.is_directory, view.exists)
        return write_layer(session.store.layout, lambda stream: write_copy(tree, items, stream, session.now()),
                           session.settings.epoch)
    if source is not None:
        key = session.key(state, instruction, {"from": source_key})
        return session.record_for(key, lambda: write(source()))
    tree = session.context
    # what the key says of the copied files, with the destination rules left to the parent's key
    described = select(tree, request, lambda path: True, lambda path: True)
    if all(_known(tree, item) for item in described):
        return session.record_for(session.key(state, instruction, sources=copy_sources(tree, described)),
                                  lambda: write(tree))
    with session.store.pinned():      # not hashed yet: hashed while the layer is written, once
        layer = write(tree)
        key = session.key(state, instruction, sources=copy_sources(tree, described))
        return session.record_for(key, lambda: layer)


def _known(tree: SourceTree, item: CopyItem) -> bool:
    entry = item.entry
    return entry is None or not entry.is_file or item.extract or tree.known_digest(entry) is not None


def _owner(chown: str, view: LayeredTree) -> Owner | None:
    """--chown's user and group, names looked up in the stage's own files."""
    def lookup(path: str) -> Callable[[str], int | None]:
        def find(name: str) -> int | None:
            for line in (view.read_text(path) or "").splitlines():
                fields = line.split(":")
                if len(fields) > 2 and fields[0] == name and fields[2].isdigit():
                    return int(fields[2])
            return None
        return find
    return parse_chown(chown, lookup("/etc/passwd"), lookup("/etc/group"))


# WORKDIR

def workdir(session: Session, state: StageState, instruction: ins.Workdir) -> CacheRecord:
    path = posixpath.normpath(posixpath.join(state.config.workdir, instruction.value))
    return session.record_for(session.key(state, instruction),
                              lambda: _make_workdir(session, state, path))


def _make_workdir(session: Session, state: StageState, path: str) -> LayerResult | None:
    """The missing directories of `path`, owned by the stage's USER, as
    BuildKit makes them; None when it exists."""
    view = state.view(session)
    parts = [part for part in path.split("/") if part]
    existing = ""
    for index, part in enumerate(parts):
        entry = view.resolve(posixpath.join(existing, part))
        if entry is None:
            missing = parts[index:]
            break
        if not entry.is_dir:
            raise BuildError(f"{path}: /{entry.path} is not a directory")
        existing = entry.path
    else:
        return None
    user = resolve_user(state.config.settings.get("User") or "", view.read_text)

    def fill(stream) -> None:
        for count in range(1, len(missing) + 1):
            name = posixpath.join(existing, *missing[:count])
            stream.add(tar_header(name, tarfile.DIRTYPE, _WORKDIR_MODE, user.uid, user.gid, session.now()))
    return write_layer(session.store.layout, fill, session.settings.epoch)
