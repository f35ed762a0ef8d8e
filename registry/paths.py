"""Every storage key the registry uses, in CNCF Distribution's `registry:2` layout.

A directory written by Distribution 2.8.2 is served as-is, and Distribution
serves what pyreg writes, because both use this tree:

    docker/registry/v2/
    ├── blobs/<alg>/<first 2 hex>/<hex>/data          the bytes, shared by all repos
    ├── _pyreg/robots/<name>                            pyreg only: a robot credential (JSON)
    ├── _pyreg/events/<endpoint>/                       pyreg only: undelivered notifications (a local
    │                                                   directory, not a key: filesystem storage only)
    ├── _pyreg/index/                                   pyreg only: listings kept sorted (S3)
    │   ├── repositories/<name, '/' as ','>!/entry      empty: the repository exists
    │   ├── repositories-built                          the walk that filled it finished
    │   ├── tags/<name, '/' as ','>/<tag>!/entry        empty: the tag exists
    │   └── tags-built/<name, '/' as ','>               the walk that filled it finished
    └── repositories/<name>/                            <name> may contain '/'
        ├── _layers/<alg>/<hex>/link                    "sha256:<hex>": blob visible here
        ├── _manifests/
        │   ├── revisions/<alg>/<hex>/link              manifest visible here
        │   └── tags/<tag>/
        │       ├── current/link                        digest the tag points at
        │       └── index/<alg>/<hex>/link              every digest the tag ever held
        ├── _uploads/<id>/
        │   ├── data                                    bytes received so far
        │   ├── startedat                               RFC 3339 start time
        │   ├── pyreg-owner                             pyreg only: who started it
        │   ├── pyreg-claims/<offset>                   pyreg only: who took the chunk at offset
        │   └── pyreg-ends/<size>                       pyreg only: a chunk ended at size
        └── _referrers/                                 pyreg only: the referrers index
            ├── indexed                                 existing manifests were indexed
            └── <alg>/<subject hex>/
                └── <alg>/<referrer hex>/descriptor     a referrer's descriptor JSON

Distribution skips directories starting with '_' when it walks repositories,
so pyreg's `_referrers` lives beside its layout without disturbing it; it
walks only `repositories/` and `blobs/` (catalog, garbage collection, upload
purging), so it never trips over `_pyreg/`; and its upload purge deletes a
session's whole directory, `pyreg-owner` with it.

Callers pass validated values (a Digest, a name checked against
`ocispec.reference.NAME_RE`, a checked tag, a checked upload id);
`storage_backends.base.check_key` is the last line of defence.
"""
from __future__ import annotations

from ocispec.digest import Digest

ROOT = "docker/registry/v2"
BLOBS = f"{ROOT}/blobs"
REPOSITORIES = f"{ROOT}/repositories"
ROBOTS = f"{ROOT}/_pyreg/robots"
EVENTS = f"{ROOT}/_pyreg/events"
INDEX = f"{ROOT}/_pyreg/index"
CATALOG_INDEX = f"{INDEX}/repositories"
CATALOG_INDEX_BUILT = f"{INDEX}/repositories-built"
# An entry is a directory holding one empty object, so a listing returns it
# as a CommonPrefix (four times cheaper to list than whole objects, on moto).
# Its name ends in '!' and a repository name's '/' becomes ',': both sort
# below every character a name or tag may hold ('-', '.', '_', alphanumerics),
# so sorted keys are in the catalog's component order and in tag order
# ("v1" before "v1-x", where "v1/" would sort after "v1-x/").
_INDEX_SEPARATOR, _INDEX_END = ",", "!"


def blob_dir(digest: Digest) -> str:
    return f"{BLOBS}/{digest.algorithm}/{digest.encoded[:2]}/{digest.encoded}"


def blob_data(digest: Digest) -> str:
    return f"{blob_dir(digest)}/data"


def repository(name: str) -> str:
    return f"{REPOSITORIES}/{name}"


def repository_areas(name: str) -> tuple[str, ...]:
    """Everything of one repository and nothing of a repository nested in it
    (`team` holds `team/app`), in the order a delete removes it: tags before
    the revisions they name, revisions before the layers they use."""
    return (tags_dir(name), manifests_dir(name), f"{REPOSITORIES}/{name}/_layers",
            f"{REPOSITORIES}/{name}/_referrers", f"{REPOSITORIES}/{name}/_uploads")


def layer_link(name: str, digest: Digest) -> str:
    return f"{REPOSITORIES}/{name}/_layers/{digest.algorithm}/{digest.encoded}/link"


def manifests_dir(name: str) -> str:
    return f"{REPOSITORIES}/{name}/_manifests"


def revisions_dir(name: str) -> str:
    return f"{manifests_dir(name)}/revisions"


def revision_link(name: str, digest: Digest) -> str:
    return f"{revisions_dir(name)}/{digest.algorithm}/{digest.encoded}/link"


def tags_dir(name: str) -> str:
    return f"{manifests_dir(name)}/tags"


def tag_dir(name: str, tag: str) -> str:
    return f"{tags_dir(name)}/{tag}"


def tag_current_link(name: str, tag: str) -> str:
    return f"{tag_dir(name, tag)}/current/link"


def tag_index_link(name: str, tag: str, digest: Digest) -> str:
    return f"{tag_dir(name, tag)}/index/{digest.algorithm}/{digest.encoded}/link"


def upload_dir(name: str, upload_id: str) -> str:
    return f"{REPOSITORIES}/{name}/_uploads/{upload_id}"


def upload_session_of(key: str) -> tuple[str, str] | None:
    """(repository, upload id) of a key inside an upload session's directory."""
    if not key.startswith(REPOSITORIES + "/"):
        return None
    name, marker, rest = key[len(REPOSITORIES) + 1:].partition("/_uploads/")
    upload_id = rest.split("/", 1)[0]
    return (name, upload_id) if marker and name and upload_id else None


def upload_data(name: str, upload_id: str) -> str:
    return f"{upload_dir(name, upload_id)}/data"


def upload_started_at(name: str, upload_id: str) -> str:
    return f"{upload_dir(name, upload_id)}/startedat"


def upload_owner(name: str, upload_id: str) -> str:
    return f"{upload_dir(name, upload_id)}/pyreg-owner"


def upload_claim(name: str, upload_id: str, offset: int) -> str:
    return f"{upload_dir(name, upload_id)}/pyreg-claims/{offset}"


def upload_claims_dir(name: str, upload_id: str) -> str:
    return f"{upload_dir(name, upload_id)}/pyreg-claims"


def upload_end(name: str, upload_id: str, size: int) -> str:
    return f"{upload_dir(name, upload_id)}/pyreg-ends/{size}"


def index_name(name: str) -> str:
    return name.replace("/", _INDEX_SEPARATOR)


def index_child(name_or_tag: str) -> str:
    """The directory an entry is: what `list_after` answers, and takes as `after`."""
    return index_name(name_or_tag) + _INDEX_END


def from_index_child(child: str) -> str:
    """The repository name or tag of a listed entry directory."""
    return child.removesuffix(_INDEX_END).replace(_INDEX_SEPARATOR, "/")


def catalog_entry(name: str) -> str:
    return f"{CATALOG_INDEX}/{index_child(name)}/entry"


def tag_index(name: str) -> str:
    return f"{INDEX}/tags/{index_name(name)}"


def tag_entry(name: str, tag: str) -> str:
    return f"{tag_index(name)}/{index_child(tag)}/entry"


def tag_index_built(name: str) -> str:
    return f"{INDEX}/tags-built/{index_name(name)}"


def tag_index_version(name: str) -> str:
    """Rewritten with a fresh value after every change to the tag index of `name`."""
    return f"{INDEX}/tags-version/{index_name(name)}"


def robot(name: str) -> str:
    """A robot credential's record; `name` is checked by registry.auth.robots."""
    return f"{ROBOTS}/{name}"


def referrers_marker(name: str) -> str:
    return f"{REPOSITORIES}/{name}/_referrers/indexed"


def referrers_dir(name: str, subject: Digest) -> str:
    return f"{REPOSITORIES}/{name}/_referrers/{subject.algorithm}/{subject.encoded}"


def referrer_descriptor(name: str, subject: Digest, referrer: Digest) -> str:
    return f"{referrers_dir(name, subject)}/{referrer.algorithm}/{referrer.encoded}/descriptor"
