"""Every path the runtime keeps under the data root (`--root`,
`$PYREG_HOME`; /var/lib/pyreg for root, ~/.local/share/pyreg otherwise):

    <root>/
    ├── images/                          the local store: an OCI image layout
    │   ├── oci-layout, index.json       (puller.store reads and writes it)
    │   └── blobs/sha256/<hex>           manifests, configs, layers
    ├── snapshots/
    │   ├── <diff_id hex>/               one layer, extracted and verified
    │   ├── <algorithm>-<hex>/           the same, for a diff_id not in sha256
    │   ├── .tmp-<hex12>-<random>/       a layer being extracted (renamed when whole)
    │   ├── .mounts-<random>/            a `pyreg build` RUN step's mountpoints, its
    │   │                                top lower layer (removed with the step)
    │   └── image-cache.json             name typed -> reference, run config, snapshots
    ├── containers/
    │   ├── .lock                        held while a name is claimed
    │   ├── .userns-lock                 held while a --userns=auto range is picked
    │   └── <id>/                        64 hex
    │       ├── state.json               the Container record
    │       ├── config.json              its OCI runtime spec (runc's bundle config)
    │       ├── rootfs/                  overlay mountpoint, or the flattened copy
    │       ├── upper/, work/            overlayfs' upper and work directories
    │       ├── hosts, hostname, resolv.conf   when they cannot go into upper/
    │       ├── stop-requested           `pyreg stop` was asked: no --restart policy applies
    │       ├── network.json             a bridge container's network request, its ports
    │       │                            resolved: what connects it again at a restart
    │       └── container.log[.N]        kept output, rotated
    ├── seccomp/
    │   └── <sha256>.bpf                 compiled filters, by hash of arch + section
    ├── networks/                        (netplumb) bridge networks
    │   ├── lock                         flock held by every change to networks, leases,
    │   │                                bridges and rules: concurrent `pyreg run`s queue
    │   └── <name>/
    │       ├── network.json             the Network record (replaced atomically)
    │       └── leases/<address>.json    one Lease per attached container, made with
    │                                    O_EXCL: an address is held by one container only
    ├── netns/<container id>             a network namespace pyreg made, bind-mounted on an
    │                                    empty file; the container joins it, teardown unmounts it
    └── volumes/                         named volumes (docker's layout)
        ├── .lock                        held while a volume is made, removed or copied into
        └── <name>/
            ├── volume.json              its record: name, created, labels
            ├── _data/                   what containers mount
            └── .filling-<pid>/          the image's content being copied in (renamed to _data)

Outside it: cgroups at /sys/fs/cgroup/.../pyreg/<id> (inside/cgroups.py),
the shared device groups at /sys/fs/cgroup/devices/pyreg/devices-<hash>
(inside/devices.py), and runc's or crun's state at /run/<runtime>/<id[:32]>.

Callers pass a checked container id (container/state.py checks it) and a
parsed diff_id; nothing here reads or writes. Names that people give
(containers, and what else becomes a directory by name) follow
NAME_PATTERN, docker's rule.
"""
from __future__ import annotations

import os

IMAGE_CACHE = "image-cache.json"
STATE = "state.json"
SPEC = "config.json"
LOG = "container.log"
STOP_REQUESTED = "stop-requested"
NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$"  # a pattern: compiled only when a name is given


def images(root: str) -> str:
    return os.path.join(root, "images")


def image_index(root: str) -> str:
    return os.path.join(root, "images", "index.json")


def snapshots(root: str) -> str:
    return os.path.join(root, "snapshots")


def snapshot(root: str, diff_id) -> str:
    """diff_id: an ocispec Digest."""
    name = diff_id.encoded if diff_id.algorithm == "sha256" else f"{diff_id.algorithm}-{diff_id.encoded}"
    return os.path.join(root, "snapshots", name)


def step_mountpoints(root: str, token: str) -> str:
    """Beside the snapshots: overlayfs takes its lower layers from one parent."""
    return os.path.join(root, "snapshots", f".mounts-{token}")


def image_cache(root: str) -> str:
    return os.path.join(root, "snapshots", IMAGE_CACHE)


def containers(root: str) -> str:
    return os.path.join(root, "containers")


def names_lock(root: str) -> str:
    return os.path.join(root, "containers", ".lock")


def userns_lock(root: str) -> str:
    return os.path.join(root, "containers", ".userns-lock")


def container(root: str, container_id: str) -> str:
    return os.path.join(root, "containers", container_id)


def container_file(root: str, container_id: str, name: str) -> str:
    """STATE, SPEC, LOG, STOP_REQUESTED, or one of the files and directories drawn above."""
    return os.path.join(root, "containers", container_id, name)


def seccomp_program(root: str, key: str) -> str:
    return os.path.join(root, "seccomp", f"{key}.bpf")


def networks(root: str) -> str:
    return os.path.join(root, "networks")


def networks_lock(root: str) -> str:
    return os.path.join(root, "networks", "lock")


def network(root: str, name: str) -> str:
    """name: checked against NAME_PATTERN, so it is safe as a directory name."""
    return os.path.join(root, "networks", name)


def network_record(root: str, name: str) -> str:
    return os.path.join(root, "networks", name, "network.json")


def leases(root: str, name: str) -> str:
    return os.path.join(root, "networks", name, "leases")


def lease(root: str, name: str, address: str) -> str:
    return os.path.join(root, "networks", name, "leases", f"{address}.json")


def netns(root: str) -> str:
    return os.path.join(root, "netns")


def container_network(root: str, container_id: str) -> str:
    """What a start of a bridge container connects it with (networking.remember)."""
    return os.path.join(root, "containers", container_id, "network.json")


def container_netns(root: str, container_id: str) -> str:
    return os.path.join(root, "netns", container_id)


def volumes(root: str) -> str:
    return os.path.join(root, "volumes")


def volumes_lock(root: str) -> str:
    return os.path.join(root, "volumes", ".lock")


def volume(root: str, name: str) -> str:
    """name: checked against NAME_PATTERN (volumes/store.py checks it)."""
    return os.path.join(root, "volumes", name)


def volume_record(root: str, name: str) -> str:
    return os.path.join(root, "volumes", name, "volume.json")


def volume_data(root: str, name: str) -> str:
    return os.path.join(root, "volumes", name, "_data")


def volume_filling(root: str, name: str) -> str:
    return os.path.join(root, "volumes", name, f".filling-{os.getpid()}")
