"""A process that attaches a container and holds it, standing in for the
supervisor: `python -m tests.runtime.netplumb.owner ROOT NETWORK [PORT...]`
prints the lease as JSON, then holds it (and the port sockets) until its
stdin closes, and disconnects. With PYREG_TEST_NO_FORK=1 it first puts
itself where pyreg's supervisor is once its container ran: its PID
namespace for children unshared and already dead, so it cannot fork."""
from __future__ import annotations

import json
import os
import sys

from runtime.netplumb import attach, ports


def main() -> None:
    root, network, *published = sys.argv[1:]
    member = attach.Member(os.urandom(32).hex(), name=f"owner{os.getpid()}")
    attachment = attach.connect(root, network, member, publish=[ports.parse(p) for p in published])
    if os.environ.get("PYREG_TEST_NO_FORK"):
        cannot_fork()
    print(json.dumps(attachment.lease.to_json()), flush=True)
    sys.stdin.read()
    attachment.close_sockets()
    attach.disconnect(root, member.container_id)


def cannot_fork() -> None:
    from runtime.kernel import linux
    linux.unshare(linux.CLONE_NEWPID)
    pid = os.fork()
    if pid == 0:  # PID 1 of the new namespace: when it ends, so does the namespace
        os._exit(0)
    os.waitpid(pid, 0)
    try:
        os.fork()
    except OSError:
        return
    os._exit(1)  # pragma: no cover - forking still worked: the test would prove nothing


if __name__ == "__main__":
    main()
