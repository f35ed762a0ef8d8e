"""docker-archive tars, as `docker save` writes them and `docker load`,
`podman load` and `skopeo copy docker-archive:` read them:

    manifest.json               [{"Config": "<hex>.json", "RepoTags": [...], "Layers": [...]}]
    repositories                {"repo": {"tag": "<top layer id>"}}
    <config hex>.json           the image config, byte for byte
    <diff id hex>/layer.tar     each layer, uncompressed (its digest is the diff id)

Layers are decompressed through a temp file (a tar member needs its size up
front); nothing is held in memory.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import tarfile
import tempfile
from pathlib import Path

from ocispec import mediatypes as mt
from ocispec.descriptor import Descriptor
from ocispec.digest import Digest, Verifier
from ocispec.uncompressed import LayerFormatError, open_uncompressed
from ocispec.verified import copy_verified, read_chunks

from .errors import ArchiveError
from .listing import split_name
from .store import LocalStore, normalize_ref_name

CHUNK = 1024 * 1024


def _uncompressed_layer(layer_path: Path, media_type: str, diff_id: str, scratch: Path) -> Path:
    """Write the uncompressed layer to scratch, checking it against the config's diff id."""
    expected = Digest.parse(diff_id) if Digest.is_valid(diff_id) else None
    verifier = Verifier(expected)
    target = scratch / f"{(expected or Digest('sha256', 'x')).encoded}.tar"
    try:
        with open_uncompressed(layer_path, media_type) as source, open(target, "wb") as out:
            copy_verified(read_chunks(source.read), out, verifier)
    except LayerFormatError as err:
        raise ArchiveError(f"cannot save layer {layer_path.name[:12]}: {err}") from None
    if not verifier.matches():
        raise ArchiveError(f"layer {layer_path.name[:12]} does not match its diff id {diff_id}")
    return target


def _repo_tags(names: list[str]) -> list[str]:
    tags = []
    for name in names:
        repository, tag = split_name(name)
        if tag != "<none>":
            tags.append(f"{repository}:{tag}")
    return tags


def _add_file(tar: tarfile.TarFile, name: str, path: Path | None = None, data: bytes | None = None) -> None:
    info = tarfile.TarInfo(name)
    info.mode, info.mtime = 0o644, 0
    if path is not None:
        info.size = path.stat().st_size
        with open(path, "rb") as handle:
            tar.addfile(info, handle)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def save_docker_archive(store: LocalStore, texts: list[str], output: str) -> int:
    """Write the named images to `output` (atomically); returns how many."""
    images: dict[str, tuple] = {}  # image id -> (manifest, config, names)
    for text in texts:
        entry = store.find(text)
        _, manifest, config = store.resolve_image(entry.handle)
        names = images.setdefault(str(manifest.config.digest), (manifest, config, []))[2]
        names.append(entry.name)
    output_path = Path(output).absolute()
    fd, temp = tempfile.mkstemp(dir=output_path.parent, prefix=f".{output_path.name}.")
    os.close(fd)
    try:
        with tempfile.TemporaryDirectory(dir=output_path.parent, prefix=".pyreg-save-") as scratch, \
                tarfile.open(temp, "w", format=tarfile.PAX_FORMAT, copybufsize=CHUNK) as tar:
            _write_images(store, tar, Path(scratch), images)
        os.replace(temp, output_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return len(images)


def _write_images(store: LocalStore, tar: tarfile.TarFile, scratch: Path, images: dict) -> None:
    written: set[str] = set()
    manifest_json, repositories = [], {}
    for manifest, config, names in images.values():
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        if len(diff_ids) != len(manifest.layers):
            raise ArchiveError("image config's diff_ids do not match its layers")
        layer_names = []
        for layer, diff_id in zip(manifest.layers, diff_ids):
            member = f"{Digest.parse(diff_id).encoded}/layer.tar"
            if member not in written:
                path = _uncompressed_layer(store.layer_path(layer.digest), layer.media_type,
                                           diff_id, scratch)
                _add_file(tar, member, path)
                path.unlink()
                written.add(member)
            layer_names.append(member)
        config_name = f"{manifest.config.digest.encoded}.json"
        _add_file(tar, config_name, store.layer_path(manifest.config.digest))
        tags = _repo_tags(names)
        manifest_json.append({"Config": config_name, "RepoTags": tags or None, "Layers": layer_names})
        for tag in tags:
            repository, _, tag_name = tag.rpartition(":")
            top = layer_names[-1].split("/")[0] if layer_names else ""
            repositories.setdefault(repository, {})[tag_name] = top
    _add_file(tar, "manifest.json", data=json.dumps(manifest_json).encode())
    _add_file(tar, "repositories", data=json.dumps(repositories).encode())


# loading

def _read_member(tar: tarfile.TarFile, name: str, limit: int = 8 * 1024 * 1024) -> bytes:
    try:
        member = tar.getmember(name.removeprefix("./"))
    except KeyError:
        raise ArchiveError(f"archive has no {name}") from None
    if not member.isfile() or member.size > limit:
        raise ArchiveError(f"{name} in the archive is not a small regular file")
    return tar.extractfile(member).read()


def _layer_media_type(head: bytes) -> str:
    if head.startswith(b"\x1f\x8b"):
        return mt.OCI_LAYER_GZIP
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return mt.OCI_LAYER_ZSTD
    return mt.OCI_LAYER


def _import_member(store: LocalStore, tar: tarfile.TarFile, name: str) -> Descriptor:
    """Stream one layer member into the store's blobs, hashing as it goes."""
    try:
        member = tar.getmember(name)
    except KeyError:
        raise ArchiveError(f"archive lists layer {name} but does not contain it") from None
    if not member.isfile():
        raise ArchiveError(f"layer {name} in the archive is not a regular file")
    source = tar.extractfile(member)
    head, verifier = source.read(CHUNK), Verifier()
    with store.layout.new_blob("load-") as blob:
        copy_verified(itertools.chain([head], read_chunks(source.read)), blob.file, verifier)
        blob.commit(verifier.digest())
    return Descriptor(_layer_media_type(head), verifier.digest(), verifier.size)


def load_docker_archive(store: LocalStore, path: str) -> list[str]:
    """Import every image of a docker-archive; returns the names given."""
    store.init()
    loaded = []
    with tarfile.open(path, "r:*") as tar, store.pinned():
        try:
            entries = json.loads(_read_member(tar, "manifest.json"))
        except ValueError:
            raise ArchiveError("manifest.json in the archive is not JSON") from None
        if not isinstance(entries, list):
            raise ArchiveError("manifest.json in the archive is not a list")
        for entry in entries:
            loaded += _load_entry(store, tar, entry)
    return loaded


def _load_entry(store: LocalStore, tar: tarfile.TarFile, entry) -> list[str]:
    if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str) \
            or not isinstance(entry.get("Layers"), list):
        raise ArchiveError("manifest.json entry lacks Config or Layers")
    config = _read_member(tar, entry["Config"])
    try:
        json.loads(config)
    except ValueError:
        raise ArchiveError(f"config {entry['Config']} is not JSON") from None
    config_descriptor = Descriptor(mt.OCI_CONFIG, store.layout.write_blob(config), len(config))
    layers = [_import_member(store, tar, str(name)) for name in entry["Layers"]]
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                           "config": config_descriptor.to_json(),
                           "layers": [layer.to_json() for layer in layers]}).encode()
    descriptor = Descriptor(mt.OCI_MANIFEST, store.layout.write_blob(manifest), len(manifest))
    names = [normalize_ref_name(str(tag)) for tag in entry.get("RepoTags") or []]
    names = names or [f"localhost/loaded@{descriptor.digest}"]
    for name in names:
        store.layout.set_ref(name, descriptor)
    return names
