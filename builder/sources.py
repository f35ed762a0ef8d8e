"""What a COPY or ADD copies, and where each file lands: a pure selection
over a SourceTree, before anything is written.

Docker's rules: sources are relative to the context (a leading `/` too) and
may not leave it; wildcards match within one path element (Go's
filepath.Match); a symlink named as a source is followed inside the tree; a
directory source copies its contents, not itself; several sources need a
destination that ends in `/`; a file goes into the destination when that ends
in `/`, is `.`, or is an existing directory, and becomes the destination
otherwise; a relative destination is relative to WORKDIR; missing parent
directories are created (0755). Files from the context belong to 0:0 unless
--chown says otherwise; files from a stage or an image keep their owners.
ADD unpacks a local tar archive (plain, gzip, bzip2 or xz) at the destination.
"""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import Callable

from .context import Entry, SourceTree, join
from .errors import BuildError

_ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
_TAR_MAGIC_OFFSET = 257
_CREATED_DIRECTORY_MODE = 0o755


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int


ROOT = Owner(0, 0)


@dataclass(frozen=True)
class CopyRequest:
    sources: tuple[str, ...]
    dest: str
    workdir: str = "/"
    chown: Owner | None = None
    chmod: int | None = None
    keep_owners: bool = False     # True for --from a stage or an image
    add: bool = False
    link: bool = False            # --link: the layer stands alone, parents always written


@dataclass(frozen=True)
class CopyItem:
    target: str                   # absolute path in the image
    entry: Entry | None           # None for a directory the copy creates
    mode: int                     # permission bits to record
    uid: int
    gid: int
    extract: bool = False         # ADD: unpack this archive at `target`


def parse_chmod(text: str) -> int | None:
    if not text:
        return None
    if not re.fullmatch(r"[0-7]{1,4}", text):
        raise BuildError(f"--chmod={text}: pyreg build takes octal modes (such as 0755) only")
    return int(text, 8)


def parse_chown(text: str, user_id: Callable[[str], int | None],
                group_id: Callable[[str], int | None]) -> Owner | None:
    """`user[:group]` with names looked up in the image (`user_id`, `group_id`
    return None for an unknown name); a user alone gives its number as the group."""
    if not text:
        return None
    user, _, group = text.partition(":")
    uid = _numeric_or_named(user, user_id, "user")
    gid = _numeric_or_named(group, group_id, "group") if group else uid
    return Owner(uid, gid)


def _numeric_or_named(text: str, lookup: Callable[[str], int | None], kind: str) -> int:
    if text.isdigit():
        return int(text)
    found = lookup(text) if text else None
    if found is None:
        raise BuildError(f"--chown: unknown {kind} {text!r} in the image")
    return found


def select(tree: SourceTree, request: CopyRequest,
           is_directory: Callable[[str], bool] = lambda path: False,
           exists: Callable[[str], bool] = lambda path: False) -> list[CopyItem]:
    """The items to write, in canonical order; `is_directory` and `exists`
    answer for the image the copy lands in."""
    dest = posixpath.normpath(posixpath.join(request.workdir or "/", request.dest))
    dest_is_directory = request.dest.endswith("/") or request.dest in ("", ".") or is_directory(dest)
    matched = [match for source in request.sources for match in _matches(tree, source, request.add)]
    if len(matched) > 1 and not dest_is_directory:
        raise BuildError(f"when copying more than one source file, the destination {request.dest!r} "
                         "must be a directory and end with a /")
    items: dict[str, CopyItem] = {}
    for name, entry in matched:
        for item in _items_for(tree, request, name, entry, dest, dest_is_directory):
            items[item.target] = item
    # a directory source fills the destination, which exists afterwards even when empty
    filled = [dest] if any(entry.is_dir for _, entry in matched) else []
    _add_parents(items, request, exists, filled)
    return [items[target] for target in sorted(items, key=_sort_key)]


def _sort_key(target: str) -> list[bytes]:
    return [part.encode("utf-8", "surrogateescape") for part in target.split("/")]


def _matches(tree: SourceTree, source: str, add: bool) -> list[tuple[str, Entry]]:
    """(the name the source goes by, its entry) for each match of one source."""
    if add and ("://" in source or source.startswith("git@")):
        raise BuildError(f"ADD {source}: remote sources are not supported by pyreg build")
    cleaned = posixpath.normpath(source.lstrip("/") or ".")
    if cleaned == ".." or cleaned.startswith("../"):
        raise BuildError(f"{source}: forbidden path outside the build context")
    if not _has_wildcard(cleaned):
        entry = tree.resolve(cleaned)
        if entry is None:
            raise BuildError(f"{source}: not found in the build context "
                             "(or excluded by .dockerignore)")
        return [(posixpath.basename(cleaned) if cleaned != "." else "", entry)]
    found = _glob(tree, cleaned.split("/"))
    if not found:
        raise BuildError(f"{source}: no source files match the pattern")
    return found


def _has_wildcard(path: str) -> bool:
    return re.search(r"(?<!\\)[*?\[]", path) is not None


def _glob(tree: SourceTree, parts: list[str]) -> list[tuple[str, Entry]]:
    current: list[tuple[str, Entry]] = [("", tree.top)]
    for part in parts:
        following = []
        for _, directory in current:
            if not directory.is_dir:
                continue
            if _has_wildcard(part):
                regex = _element_regex(part)
                children = [c for c in tree.children(directory) if regex.fullmatch(c.name)]
            else:
                child = tree.entry(join(directory.path, part))
                children = [child] if child is not None else []
            for child in children:
                resolved = tree.resolve(child.path) if child.is_symlink else child
                if resolved is not None:
                    following.append((child.name, resolved))
        current = following
    return current


def _element_regex(pattern: str) -> re.Pattern:
    """Go's filepath.Match for one element: `*`, `?`, `[...]` with `^` negation, `\\` escapes."""
    out = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        position += 1
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", position + 1)
            if end < 0:
                raise BuildError(f"{pattern}: syntax error in pattern")
            body = pattern[position:end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            position = end + 1
        elif char == "\\" and position < len(pattern):
            out.append(re.escape(pattern[position]))
            position += 1
        else:
            out.append(re.escape(char))
    return re.compile("".join(out))


def _items_for(tree: SourceTree, request: CopyRequest, name: str, entry: Entry,
               dest: str, dest_is_directory: bool) -> list[CopyItem]:
    if entry.is_dir:
        items = [_item(request, posixpath.join(dest, descendant.path[len(entry.path):].lstrip("/")),
                       descendant) for descendant in tree.walk(entry) if descendant is not entry]
        return items
    if request.add and entry.is_file and _is_archive(tree, entry):
        return [CopyItem(dest, entry, 0, 0, 0, extract=True)]
    target = posixpath.join(dest, name) if dest_is_directory else dest
    return [_item(request, target, entry)]


def _item(request: CopyRequest, target: str, entry: Entry) -> CopyItem:
    owner = request.chown or (Owner(entry.uid, entry.gid) if request.keep_owners else ROOT)
    mode = entry.mode & 0o7777
    if request.chmod is not None and not entry.is_symlink:
        mode = request.chmod
    return CopyItem(target, entry, mode, owner.uid, owner.gid)


def _is_archive(tree: SourceTree, entry: Entry) -> bool:
    fd = tree.open(entry)
    try:
        head = os.pread(fd, _TAR_MAGIC_OFFSET + 8, 0)
    finally:
        os.close(fd)
    return head.startswith(_ARCHIVE_MAGIC) or head[_TAR_MAGIC_OFFSET:_TAR_MAGIC_OFFSET + 5] == b"ustar"


def _add_parents(items: dict[str, CopyItem], request: CopyRequest,
                 exists: Callable[[str], bool], filled: list[str]) -> None:
    owner = request.chown or ROOT
    for target in list(items) + filled:
        parent = posixpath.dirname(target) if target in items else target
        while parent != "/" and parent not in items and (request.link or not exists(parent)):
            items[parent] = CopyItem(parent, None, _CREATED_DIRECTORY_MODE, owner.uid, owner.gid)
            parent = posixpath.dirname(parent)
