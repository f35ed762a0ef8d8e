"""`pyreg run` on the bridge network, through the real command line, inside
a network namespace the test made: published ports answer on 127.0.0.1 and
on the namespace's other address, a chosen port is shown by `port` and
`ps`, and however a container ends (stop, rm -f, --rm, kill -9 of its
supervisor) no veth, DNAT rule, lease or namespace is left."""
from __future__ import annotations

import os
import signal

import pytest

from tests.runtime.conftest import eventually
from tests.runtime.netplumb.sandbox import http_get
from tests.runtime.network.conftest import WEB_IMAGE

PAGE = "served by pyreg\n"
NOTHING = {"veths": [], "rules": [], "leases": [], "namespaces": []}


def test_a_published_port_answers_on_loopback_and_on_the_other_address(sandbox, cli):
    uplink = sandbox.uplink()
    cli.ok("run", "-d", "--name", "local", "-p", "127.0.0.1:18080:80", WEB_IMAGE)
    cli.ok("run", "-d", "--name", "everywhere", "-p", "18081:80", WEB_IMAGE)
    assert http_get("127.0.0.1", 18080) == PAGE
    assert http_get(uplink, 18081) == PAGE
    assert http_get("127.0.0.1", 18081) == PAGE
    with pytest.raises(AssertionError):  # published on 127.0.0.1 only
        http_get(uplink, 18080, timeout=1)
    assert cli.ok("port", "local") == "80/tcp -> 127.0.0.1:18080\n"
    listing = cli.ok("ps")
    assert "127.0.0.1:18080->80/tcp" in listing and "0.0.0.0:18081->80/tcp" in listing


def test_a_chosen_host_port_and_the_image_s_exposed_ports(cli):
    cli.ok("run", "-d", "--name", "chosen", "-p", "80", WEB_IMAGE)
    cli.ok("run", "-d", "--name", "exposed", "-P", WEB_IMAGE)
    for name in ("chosen", "exposed"):
        line = cli.ok("port", name)
        assert line.startswith("80/tcp -> 0.0.0.0:"), line
        assert http_get("127.0.0.1", int(line.rsplit(":", 1)[1])) == PAGE


def test_the_container_gets_an_address_a_route_out_and_its_etc_files(cli):
    out = cli.ok("run", "--rm", "--hostname", "box", "--dns", "192.0.2.53", "--add-host",
                 "db.example:192.0.2.10", "busybox", "sh", "-c",
                 "ip -4 addr show eth0; ip route; cat /etc/hosts /etc/resolv.conf")
    assert "inet 172.17.0.2/16" in out and "default via 172.17.0.1 dev eth0" in out
    assert "192.0.2.10\tdb.example\n" in out and "\n172.17.0.2\tbox " in out
    assert "nameserver 192.0.2.53\n" in out
    assert cli.leftovers() == NOTHING  # --rm: gone with the container


def _holder(cli, container_id: str) -> int:
    return next(lease["holder_pid"] for lease in cli.leases() if lease["container_id"] == container_id)


def test_nothing_is_left_after_stop_rm_f_or_a_killed_supervisor(cli):
    ids = {name: cli.ok("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", WEB_IMAGE).strip()
           for name, port in (("stopped", 18090), ("removed", 18091), ("orphaned", 18092))}
    assert len(cli.leftovers()["veths"]) == 3 and len(cli.leftovers()["rules"]) == 3
    cli.ok("stop", "-t", "1", "stopped")
    assert len(cli.leases()) == 2  # stop returns once the network is released
    cli.ok("rm", "-f", "removed")
    assert len(cli.leases()) == 1
    supervisor = _holder(cli, ids["orphaned"])
    assert supervisor != os.getpid()
    os.kill(supervisor, signal.SIGKILL)
    assert eventually(lambda: not os.path.exists(f"/proc/{supervisor}/cmdline") or
                      open(f"/proc/{supervisor}/stat").read().rsplit(")", 1)[1].split()[0] == "Z")
    cli.ok("ps")  # the next command sweeps what the dead supervisor held
    assert cli.leftovers() == NOTHING
    with pytest.raises(AssertionError):
        http_get("127.0.0.1", 18092, timeout=1)
