"""RUN steps: the network they get, a step that changes nothing, a failing
command (its code and last lines, nothing tagged), and Ctrl-C in the middle
of one (no container, mount, or half-written layer left)."""
import os
import signal
import subprocess
import sys

import pytest

from puller.store import LocalStore
from runtime.container.state import ContainerStore
from tests.builder.builds import (CLI, REPO, build, error_of, pyreg, refused, root,  # noqa: F401
                                  stored_names, write_context)
from tests.builder.images import image_config, image_tree
from tests.e2e.commands import mounts_under, wait_until


def test_run_has_no_network_by_default_and_the_hosts_on_request(root, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox\nRUN ls /sys/class/net > /default\n"
                            "RUN --network=host ls /sys/class/net > /flag\n")
    build(root, context, "-t", "net:1")
    tree_dir = tmp_path / "tree"
    image_tree(root, "net:1", tree_dir)
    host = sorted(os.listdir("/sys/class/net"))
    assert (tree_dir / "default").read_text().split() == ["lo"]
    assert (tree_dir / "flag").read_text().split() == host
    build(root, context, "-t", "net:2", "--network", "host", "--no-cache")
    image_tree(root, "net:2", tmp_path / "tree2")
    assert (tmp_path / "tree2" / "default").read_text().split() == host


def test_a_run_that_changes_nothing_adds_no_layer(root, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox\nRUN true\n"
                            "RUN touch /tmp/x && rm /tmp/x && cat /etc/passwd > /dev/null\n")
    build(root, context, "-t", "nothing:1")
    config = image_config(root, "nothing:1")
    assert len(config["rootfs"]["diff_ids"]) == 2                 # the base, and the second RUN's /tmp
    assert [entry.get("empty_layer", False) for entry in config["history"][1:]] == [True, False]


def test_a_failing_run_says_its_code_and_last_lines_and_tags_nothing(root, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox\nENV A=1\n"
                            "RUN for i in $(seq 1 12); do echo line$i; done; exit 3\n")
    done = refused(root, context, "-t", "failing:1")
    message = error_of(done).splitlines()
    assert message[0] == ("Dockerfile:3: RUN: '/bin/sh -c for i in $(seq 1 12); do echo line$i; done; exit 3' "
                          "exited with code 3; its last lines of output:")
    assert message[1:] == [f"    line{i}" for i in range(3, 13)]
    assert "docker.io/library/failing:1" not in stored_names(root)
    assert ContainerStore(root).list() == []


def test_a_missing_command_is_one_clear_line(root, tmp_path):
    context = write_context(tmp_path / "ctx", 'FROM busybox\nRUN ["/no/such/tool", "x"]\n')
    message = error_of(refused(root, context, "-t", "missing:1"))
    assert message.startswith("Dockerfile:2: RUN: '/no/such/tool x' exited with code 127; "), message
    assert "/no/such/tool" in message.splitlines()[-1]


def test_ctrl_c_during_a_run_leaves_nothing_running_mounted_or_half_written(root, tmp_path):
    context = write_context(tmp_path / "ctx", "FROM busybox\nRUN echo started && sleep 600\n")
    process = subprocess.Popen([sys.executable, "-X", "faulthandler", "-c", CLI, "--root", str(root), "build",
                                "-t", "slow:1", str(context)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        store = ContainerStore(root)
        assert wait_until(lambda: any(c.is_alive() for c in store.list()), 60, "the RUN container",
                          alive=lambda: process.poll() is None), process.stderr.read()
        running = [c for c in store.list() if c.is_alive()]
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)  # -X faulthandler: every thread's stack on stderr
            pytest.fail("the build still ran 60 s after Ctrl-C:\n" + process.communicate(timeout=30)[1])
        assert code == 130
    finally:
        if process.poll() is None:
            process.kill()
    assert all(not container.is_alive() for container in running)
    assert store.list() == [] and os.listdir(root / "containers") in ([], [".lock"])
    assert mounts_under(root) == []
    assert os.listdir(LocalStore(root).layout.ingest_dir) == []
    assert not [name for name in os.listdir(root / "snapshots") if name.startswith(".")]   # .mounts-, .tmp-
    assert "docker.io/library/slow:1" not in stored_names(root)
