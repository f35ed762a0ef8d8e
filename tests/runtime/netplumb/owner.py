"""A process that attaches a container and holds it, standing in for the
supervisor: `python -m tests.runtime.netplumb.owner ROOT NETWORK [PORT...]`
prints the lease as JSON, then holds it (and the port sockets) until its
stdin closes, and disconnects."""
from __future__ import annotations

import json
import os
import sys

from runtime.netplumb import attach, ports


def main() -> None:
    root, network, *published = sys.argv[1:]
    member = attach.Member(os.urandom(32).hex(), name=f"owner{os.getpid()}")
    attachment = attach.connect(root, network, member, publish=[ports.parse(p) for p in published])
    print(json.dumps(attachment.lease.to_json()), flush=True)
    sys.stdin.read()
    attachment.close_sockets()
    attach.disconnect(root, member.container_id)


if __name__ == "__main__":
    main()
