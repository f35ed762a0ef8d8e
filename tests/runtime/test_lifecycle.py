"""Detached containers and the verbs that manage them: ps, logs, exec, stop,
kill, rm; and a state that never claims a dead process is running."""
import json
import os
import signal
import time

import pytest

from tests.runtime.conftest import eventually, need_root, pyreg

LOOP = "trap 'echo got TERM; exit 3' TERM; echo started; while true; do sleep 0.05; done"


@pytest.fixture
def detached(store_root):
    need_root()
    names = []

    def start(name: str, script: str = LOOP, *options: str) -> str:
        result = pyreg(store_root, "run", "-d", "--name", name, *options, "busybox", "sh", "-c", script)
        assert result.returncode == 0, result.stderr
        names.append(name)
        return result.stdout.decode().strip()
    yield start
    for name in names:
        pyreg(store_root, "rm", "-f", name)


def wait_for_log(store_root, name: str, text: str, timeout: float = 5) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = pyreg(store_root, "logs", name).stdout.decode()
        if text in log:
            return log
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in the log of {name}: {log!r}")


def ps(store_root, *options) -> str:
    result = pyreg(store_root, "ps", *options)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def test_detached_run_ps_logs(store_root, detached):
    container_id = detached("life1")
    assert len(container_id) == 64
    wait_for_log(store_root, "life1", "started")
    line = next(l for l in ps(store_root).splitlines() if "life1" in l)
    assert container_id[:12] in line and "Up" in line


def test_exec_joins_the_container(store_root, detached):
    detached("life2", LOOP, "--hostname", "inside")
    wait_for_log(store_root, "life2", "started")
    result = pyreg(store_root, "exec", "life2", "sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; exit 4")
    assert result.returncode == 4, result.stderr
    hostname, cmdline = result.stdout.decode().splitlines()
    assert hostname == "inside" and cmdline.startswith("sh -c trap")
    result = pyreg(store_root, "exec", "-e", "X=from-exec", "-w", "/tmp", "-u", "app", "life2",
                   "sh", "-c", "echo $X $(pwd) $(id -u)")
    assert result.stdout == b"from-exec /tmp 1000\n", result.stderr
    missing = pyreg(store_root, "exec", "life2", "no-such-command")
    assert missing.returncode == 127 and b"not found" in missing.stderr


def test_stop_sends_term_and_records_exit_code(store_root, detached):
    detached("life3")
    wait_for_log(store_root, "life3", "started")
    result = pyreg(store_root, "stop", "-t", "5", "life3")
    assert result.returncode == 0 and result.stdout == b"life3\n"
    assert "got TERM" in pyreg(store_root, "logs", "life3").stdout.decode()
    line = next(l for l in ps(store_root, "-a").splitlines() if "life3" in l)
    assert "Exited (3)" in line
    assert "life3" not in ps(store_root)


def test_stop_kills_after_the_grace_period(store_root, detached):
    detached("life4", "trap '' TERM; echo started; while true; do sleep 0.05; done")
    wait_for_log(store_root, "life4", "started")
    began = time.monotonic()
    assert pyreg(store_root, "stop", "-t", "0.5", "life4").returncode == 0
    assert time.monotonic() - began < 5
    assert "Exited (137)" in next(l for l in ps(store_root, "-a").splitlines() if "life4" in l)


def test_kill_and_rm(store_root, detached):
    detached("life5")
    wait_for_log(store_root, "life5", "started")
    refused = pyreg(store_root, "rm", "life5")
    assert refused.returncode == 1 and b"stop it first" in refused.stderr
    # PID 1 ignores signals it has no handler for (as with docker), but not KILL
    assert pyreg(store_root, "kill", "life5").returncode == 0
    assert "Exited (137)" in _wait_exited(store_root, "life5")
    assert pyreg(store_root, "rm", "life5").returncode == 0
    assert "life5" not in ps(store_root, "-a")
    gone = pyreg(store_root, "logs", "life5")
    assert gone.returncode == 1 and b"no such container" in gone.stderr


def _wait_exited(store_root, name: str) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        line = next((l for l in ps(store_root, "-a").splitlines() if name in l), "")
        if "Exited" in line:
            return line
        time.sleep(0.05)
    raise AssertionError(f"{name} did not exit")


def test_dead_process_never_shows_as_running(store_root, detached):
    container_id = detached("life6")
    wait_for_log(store_root, "life6", "started")
    state_path = store_root / "containers" / container_id / "state.json"
    state = json.loads(state_path.read_text())
    state["pid_start"] += 1  # as if the pid had been recycled by another process
    state_path.write_text(json.dumps(state))
    assert "life6" not in ps(store_root)
    assert "Exited" in next(l for l in ps(store_root, "-a").splitlines() if "life6" in l)
    os.kill(state["pid"], signal.SIGKILL)


def test_rm_force_kills_a_running_container(store_root, detached):
    container_id = detached("life7")
    wait_for_log(store_root, "life7", "started")
    pid = json.loads((store_root / "containers" / container_id / "state.json").read_text())["pid"]
    assert pyreg(store_root, "rm", "-f", "life7").returncode == 0
    assert not (store_root / "containers" / container_id).exists()
    assert eventually(lambda: _gone_or_zombie(pid))


def _gone_or_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return b" Z " in stat.read()
    except FileNotFoundError:
        return True


def test_logs_follow_ends_with_the_container(store_root, detached):
    detached("life8", "for i in 1 2 3; do echo line $i; sleep 0.1; done")
    result = pyreg(store_root, "logs", "-f", "life8", timeout=10)
    assert result.stdout == b"line 1\nline 2\nline 3\n"


def test_names_are_unique_and_validated(store_root, detached):
    detached("life9", "sleep 5")
    again = pyreg(store_root, "run", "-d", "--name", "life9", "busybox", "true")
    assert again.returncode == 125 and b"already in use" in again.stderr
    bad = pyreg(store_root, "run", "--name", "../escape", "busybox", "true")
    assert bad.returncode == 125 and b"invalid container name" in bad.stderr


def test_unknown_container_is_one_line(store_root):
    for verb in ("stop", "kill", "rm", "logs"):
        result = pyreg(store_root, verb, "does-not-exist")
        assert result.returncode == 1 and result.stderr.count(b"\n") == 1


def test_foreground_run_forwards_sigterm(store_root):
    need_root()
    import subprocess
    import sys
    from tests.runtime.conftest import CLI, REPO
    process = subprocess.Popen([sys.executable, "-c", CLI, "--root", str(store_root), "run", "--rm",
                                "--name", "fgterm", "busybox", "sh", "-c", LOOP],
                               stdout=subprocess.PIPE, cwd=REPO)
    try:
        assert process.stdout.readline() == b"started\n"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 3
        assert process.stdout.read() == b"got TERM\n"
    finally:
        process.kill()
        process.wait()
        pyreg(store_root, "rm", "-f", "fgterm")  # had pyreg died, the container would live on


def test_cgroup_limits_are_applied_and_removed(store_root, detached):
    container_id = detached("life10", LOOP, "--cpus", "0.5", "--memory", "64m", "--pids-limit", "50")
    wait_for_log(store_root, "life10", "started")
    state = json.loads((store_root / "containers" / container_id / "state.json").read_text())
    paths = state["cgroups"]
    assert paths, "limits asked for, so the container must have cgroups"
    files = {"cpu.cfs_quota_us": "50000", "memory.limit_in_bytes": str(64 << 20),
             "pids.max": "50", "cpu.max": "50000 100000", "memory.max": str(64 << 20)}
    seen = {}
    for path in paths:
        for name, expected in files.items():
            if os.path.exists(os.path.join(path, name)):
                seen[name] = open(os.path.join(path, name)).read().strip()
                assert seen[name] == expected, name
        assert str(state["pid"]) in open(os.path.join(path, "cgroup.procs")).read().split()
    assert len(seen) >= 3
    assert pyreg(store_root, "rm", "-f", "life10").returncode == 0
    assert eventually(lambda: not any(os.path.isdir(p) for p in paths))


def test_exec_into_a_stopped_container_is_refused(store_root, detached):
    detached("life11", "true")
    _wait_exited(store_root, "life11")
    result = pyreg(store_root, "exec", "life11", "true")
    assert result.returncode == 126 and b"not running" in result.stderr


def test_detached_init_returns_while_the_container_runs(store_root):
    need_root()
    result = pyreg(store_root, "run", "-d", "--init", "--name", "life12", "busybox", "sleep", "30",
                   timeout=10)  # it used to block until the container exited
    try:
        assert result.returncode == 0, result.stderr
        assert "Up" in next(l for l in ps(store_root).splitlines() if "life12" in l)
    finally:
        pyreg(store_root, "rm", "-f", "life12")


def test_attached_runs_keep_their_output(store_root):
    need_root()
    result = pyreg(store_root, "run", "--name", "life13", "busybox", "sh", "-c",
                   "echo to-out; echo to-err >&2; exit 4")
    try:
        assert result.returncode == 4
        assert result.stdout == b"to-out\n" and result.stderr == b"to-err\n"  # still on our stdio
        logs = pyreg(store_root, "logs", "life13")
        assert logs.returncode == 0 and sorted(logs.stdout.split()) == [b"to-err", b"to-out"]
    finally:
        pyreg(store_root, "rm", "life13")


def test_logs_are_rotated_at_max_size(store_root):
    need_root()
    script = "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done"
    result = pyreg(store_root, "run", "-d", "--name", "life14", "--log-opt", "max-size=4k",
                   "--log-opt", "max-file=3", "busybox", "sh", "-c", script)
    container_dir = store_root / "containers" / result.stdout.decode().strip()
    try:
        assert _wait_exited(store_root, "life14")
        files = sorted(p.name for p in container_dir.iterdir() if p.name.startswith("container.log"))
        assert files == ["container.log", "container.log.1", "container.log.2"]
        assert all((container_dir / f).stat().st_size <= 4096 for f in files)
        kept = pyreg(store_root, "logs", "life14").stdout.decode().split()[1:]  # [0] may be cut
        assert kept[-1] == "line-2999" and "line-0" not in kept
        assert kept == [f"line-{i}" for i in range(3000 - len(kept), 3000)]  # in order, no gap
        bad = pyreg(store_root, "run", "--rm", "--log-opt", "mode=non-blocking", "busybox", "true")
        assert bad.returncode == 125 and bad.stderr.count(b"\n") == 1
    finally:
        pyreg(store_root, "rm", "-f", "life14")
