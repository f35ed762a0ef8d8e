"""start, restart, wait, create and container inspect, checked side by side
with podman (same image, same commands): exit codes, output and the
inspect fields both have. And their bad input: one line, nothing made."""
from __future__ import annotations

import os
import time

from tests.runtime.conftest import eventually
from tests.runtime.side_by_side import side_by_side  # noqa: F401 - a fixture

STATE_FIELDS = ("Status", "Running", "ExitCode")


def test_wait_start_attach_and_inspect_match_podman(side_by_side):
    peers = side_by_side
    peers.remove("sw1")
    for result in peers.both("run", "-d", "--name", "sw1", "busybox", "sh", "-c", "echo hi; exit 3"):
        assert result.returncode == 0, result.stderr
    ours, theirs = peers.both("wait", "sw1")
    assert ours.stdout == theirs.stdout == "3\n"
    ours, theirs = peers.both("start", "-a", "sw1")
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout) == (3, "hi\n")
    mine, podmans = peers.inspect("sw1")
    for field in STATE_FIELDS:
        assert mine["State"][field] == podmans["State"][field], field
    for field in ("Name", "Path", "Args", "Mounts"):
        assert mine[field] == podmans[field], field
    assert mine["State"]["Status"] == "exited" and mine["State"]["Pid"] == 0
    assert mine["State"]["StartedAt"] <= mine["State"]["FinishedAt"]  # the second run's times
    assert mine["State"]["StartedAt"] > mine["Created"]
    assert mine["OCISpec"]["process"]["args"] == ["sh", "-c", "echo hi; exit 3"]
    assert os.path.isfile(mine["OCIConfigPath"])
    assert peers.pyreg("logs", "sw1").stdout == "hi\nhi\n"  # the upper layer and the log kept
    peers.remove("sw1")


def test_create_then_start_and_restart(side_by_side):
    peers = side_by_side
    peers.remove("sw2")
    script = "echo $$ > /tmp/pid-was; cat /tmp/runs 2>/dev/null; echo x >> /tmp/runs; sleep 30"
    for result in peers.both("create", "--name", "sw2", "busybox", "sh", "-c", script):
        assert result.returncode == 0, result.stderr
    mine, podmans = peers.inspect("sw2")
    assert mine["State"]["Status"] == podmans["State"]["Status"] == "created"
    for result in peers.both("start", "sw2"):
        assert result.returncode == 0 and result.stdout == "sw2\n", result.stderr
    assert eventually(lambda: peers.inspect("sw2")[0]["State"]["Running"])
    first_pid = peers.inspect("sw2")[0]["State"]["Pid"]
    ours, theirs = peers.both("restart", "-t", "1", "sw2")
    assert ours.returncode == theirs.returncode == 0 and ours.stdout == theirs.stdout == "sw2\n"
    mine, podmans = peers.inspect("sw2")
    assert mine["State"]["Running"] and podmans["State"]["Running"]
    assert mine["State"]["Pid"] not in (0, first_pid)
    # the second run saw the first one's file: the container's own layer is kept
    assert eventually(lambda: peers.pyreg("logs", "sw2").stdout == "x\n")
    assert eventually(lambda: peers.podman("logs", "sw2").stdout == "x\n")
    peers.remove("sw2")


def test_on_failure_2_runs_three_times_then_stops(side_by_side):
    peers = side_by_side
    peers.remove("sw3")
    for result in peers.both("run", "-d", "--name", "sw3", "--restart", "on-failure:2", "busybox",
                             "sh", "-c", "echo run; exit 4"):
        assert result.returncode == 0, result.stderr

    def settled(run) -> bool:
        return run("logs", "sw3").stdout == "run\n" * 3 and run("inspect", "sw3").stdout.count(
            '"Running": false') == 1
    assert eventually(lambda: settled(peers.pyreg), 15) and eventually(lambda: settled(peers.podman), 15)
    time.sleep(0.5)  # no fourth run
    mine, podmans = peers.inspect("sw3")
    assert mine["RestartCount"] == podmans["RestartCount"] == 2
    assert mine["State"]["ExitCode"] == podmans["State"]["ExitCode"] == 4
    assert mine["HostConfig"]["RestartPolicy"] == podmans["HostConfig"]["RestartPolicy"] == {
        "Name": "on-failure", "MaximumRetryCount": 2}
    assert peers.pyreg("logs", "sw3").stdout == "run\n" * 3
    peers.remove("sw3")


def test_stop_ends_an_always_policy_and_start_resumes_it(side_by_side):
    peers = side_by_side
    peers.remove("sw4")
    run = peers.pyreg("run", "-d", "--name", "sw4", "--restart", "always", "busybox", "sh", "-c",
                      "echo run; sleep 0.2")
    assert run.returncode == 0, run.stderr
    assert eventually(lambda: peers.mine("sw4")["RestartCount"] >= 2, 10)
    assert peers.pyreg("stop", "-t", "1", "sw4").returncode == 0
    count = peers.mine("sw4")["RestartCount"]
    time.sleep(1)
    mine = peers.mine("sw4")
    assert mine["RestartCount"] == count and not mine["State"]["Running"]
    assert peers.pyreg("start", "sw4").returncode == 0
    assert eventually(lambda: peers.mine("sw4")["RestartCount"] >= count + 2, 10)
    assert peers.pyreg("rm", "-f", "sw4").returncode == 0


def test_unknown_containers_are_one_line(side_by_side):
    for verb in (("start",), ("wait",), ("restart",), ("container", "inspect")):
        ours, theirs = side_by_side.both(*verb, "sw-missing")
        assert ours.returncode == 1 and theirs.returncode != 0, verb  # docker's 1, podman's 125
        assert ours.stderr.count("\n") == 1 and "no such container: sw-missing" in ours.stderr
    ours = side_by_side.pyreg("inspect", "sw-missing")  # neither a container nor an image
    assert ours.returncode == 1 and ours.stderr == "pyreg: image 'sw-missing' not found in the local store\n"


def test_refused_options_create_nothing(side_by_side, store_root):
    peers = side_by_side
    peers.remove("sw5")
    assert peers.pyreg("run", "-d", "--name", "sw5", "busybox", "sleep", "30").returncode == 0
    before = sorted(os.listdir(store_root / "containers"))
    for options in (("--name", "sw5"), ("--restart", "sometimes"), ("--restart", "always:2"),
                    ("--restart", "on-failure:x"), ("--rm", "--restart", "always")):
        result = peers.pyreg("run", "-d", *options, "busybox", "true")
        assert result.returncode == 125 and result.stderr.count("\n") == 1, (options, result.stderr)
    ours, theirs = peers.both("run", "--restart", "sometimes", "busybox", "true")
    assert theirs.returncode == ours.returncode == 125
    assert sorted(os.listdir(store_root / "containers")) == before
    peers.remove("sw5")
