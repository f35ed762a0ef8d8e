"""Where networks live in the data root (`$PYREG_HOME`, `--root`):

    <root>/
      networks/
        lock                        flock: held by every change to networks, leases,
                                    bridges and rules, so concurrent `pyreg run`s queue
        <name>/
          network.json              the Network record (replaced atomically)
          leases/
            <address>.json          one Lease per attached container; created with
                                    O_EXCL, so an address is held by one container only
      netns/
        <container id>              a network namespace pyreg made, bind-mounted on an
                                    empty file so it outlives no one by accident: the
                                    container joins it, teardown unmounts it

Network names follow docker's rule, so they are safe as directory names.
"""
from __future__ import annotations

import os


def networks_dir(root: str) -> str:
    return os.path.join(root, "networks")


def lock_file(root: str) -> str:
    return os.path.join(root, "networks", "lock")


def network_dir(root: str, name: str) -> str:
    return os.path.join(root, "networks", name)


def network_file(root: str, name: str) -> str:
    return os.path.join(root, "networks", name, "network.json")


def leases_dir(root: str, name: str) -> str:
    return os.path.join(root, "networks", name, "leases")


def lease_file(root: str, name: str, address: str) -> str:
    return os.path.join(root, "networks", name, "leases", f"{address}.json")


def netns_dir(root: str) -> str:
    return os.path.join(root, "netns")


def netns_file(root: str, container_id: str) -> str:
    return os.path.join(root, "netns", container_id)
