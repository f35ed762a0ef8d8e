"""A container on a bridge network started again, through the real command
line inside the test's own network namespace: `start`, `restart` and a
--restart policy connect it again before its process starts (its explicit
host port is the same one), and release everything when it ends."""
from __future__ import annotations

import json
import socket
import time

import pytest

from tests.runtime.conftest import eventually
from tests.runtime.netplumb.sandbox import http_get
from tests.runtime.network.conftest import WEB_IMAGE

PAGE = "served by pyreg\n"
NOTHING = {"veths": [], "rules": [], "leases": [], "namespaces": []}


def _state(cli, name: str) -> dict:
    return json.loads(cli.ok("inspect", name))[0]


def test_stop_then_start_and_restart_answer_on_the_same_port_again(cli):
    cli.ok("run", "-d", "--name", "web", "-p", "127.0.0.1:18100:80", "-p", "80", WEB_IMAGE)
    assert http_get("127.0.0.1", 18100) == PAGE
    cli.ok("stop", "-t", "1", "web")
    assert cli.leftovers() == NOTHING
    with pytest.raises(AssertionError):
        http_get("127.0.0.1", 18100, timeout=1)
    cli.ok("start", "web")
    assert http_get("127.0.0.1", 18100) == PAGE
    ports = cli.ok("port", "web").splitlines()
    assert "80/tcp -> 127.0.0.1:18100" in ports and len(ports) == 2
    chosen = int(next(p for p in ports if "0.0.0.0" in p).rsplit(":", 1)[1])
    assert http_get("127.0.0.1", chosen) == PAGE  # `-p 80`: a free port, chosen again
    first_pid = _state(cli, "web")["State"]["Pid"]
    cli.ok("restart", "-t", "1", "web")
    assert _state(cli, "web")["State"]["Pid"] != first_pid
    assert http_get("127.0.0.1", 18100) == PAGE
    assert len(cli.leases()) == 1 and len(cli.leftovers()["veths"]) == 1
    cli.ok("rm", "-f", "web")
    assert cli.leftovers() == NOTHING


def test_on_failure_2_on_a_bridge_runs_three_times_and_leaves_nothing(cli):
    cli.ok("run", "-d", "--name", "failing", "--restart", "on-failure:2", "-p", "127.0.0.1:18101:80",
           "busybox", "sh", "-c", "ip -4 addr show eth0 | grep -c 'inet 172.17'; exit 3")

    def settled() -> bool:
        state = _state(cli, "failing")
        return state["RestartCount"] == 2 and not state["State"]["Running"]
    assert eventually(settled, 20)
    time.sleep(0.5)  # no fourth run
    state = _state(cli, "failing")
    assert state["RestartCount"] == 2 and state["State"]["ExitCode"] == 3
    assert cli.ok("logs", "failing") == "1\n" * 3  # each run had its address on the bridge
    assert cli.leftovers() == NOTHING


def test_a_start_whose_host_port_is_taken_fails_in_one_line_and_leaves_nothing(cli):
    cli.ok("run", "-d", "--name", "blocked", "-p", "127.0.0.1:18102:80", WEB_IMAGE)
    cli.ok("stop", "-t", "1", "blocked")
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 18102))
        squatter.listen()
        result = cli("start", "blocked")
        assert result.returncode == 1  # docker's, for a port already allocated
        assert result.stderr.decode() == "pyreg: host port 127.0.0.1:18102/tcp is already in use\n"
        assert cli.leftovers() == NOTHING and not _state(cli, "blocked")["State"]["Running"]
    cli.ok("start", "blocked")  # the port is free again
    assert http_get("127.0.0.1", 18102) == PAGE


def test_publish_all_s_ports_are_published_again_at_a_start(cli):
    cli.ok("run", "-d", "--name", "all", "-P", WEB_IMAGE)
    cli.ok("stop", "-t", "1", "all")
    assert cli.ok("port", "all") == ""
    cli.ok("start", "all")
    line = cli.ok("port", "all")
    assert line.startswith("80/tcp -> 0.0.0.0:"), line  # the image's ExposedPorts, remembered
    assert http_get("127.0.0.1", int(line.rsplit(":", 1)[1])) == PAGE
