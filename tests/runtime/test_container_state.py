"""Container state on disk without the heavy modules: Status as text,
state.json through fastjson, and removal that never follows a symlink."""
import os

import pytest

from runtime.container.state import ContainerError, ContainerStore, Status
from runtime.fs.beneath import remove_tree


def test_status_is_text_with_three_known_values():
    assert Status("running") is Status.RUNNING and Status.RUNNING == "running"
    assert Status.STOPPED.value == "stopped" and type(Status.STOPPED.value) is str
    for bad in ("paused", "", None):
        with pytest.raises(ValueError):
            Status(bad)


def test_state_round_trips_and_keeps_the_lifecycle(tmp_path):
    store = ContainerStore(tmp_path)
    container = store.create("img", ["true"], name="web")
    container.mark_running(os.getpid())
    store.save(container)
    loaded = store.load(container.id)
    assert loaded == container and loaded.status is Status.RUNNING and loaded.is_alive()
    loaded.mark_stopped(3)
    with pytest.raises(ContainerError, match="cannot go from stopped to created"):
        loaded.transition(Status.CREATED)
    loaded.mark_running(os.getpid())  # started again (`pyreg start`): the old code is gone
    assert loaded.status is Status.RUNNING and loaded.exit_code is None
    with pytest.raises(ContainerError, match="already in use"):
        store.create("img", ["true"], name="web")
    (tmp_path / "containers" / container.id / "state.json").write_text('{"id": ')
    with pytest.raises(ContainerError, match="no such container"):
        store.load(container.id)


def test_remove_tree_deletes_links_not_their_targets(tmp_path):
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "file").write_text("precious")
    victim = tmp_path / "container"
    (victim / "upper" / "deep" / "er").mkdir(parents=True)
    (victim / "upper" / "deep" / "er" / "f").write_text("x")
    os.symlink(outside, victim / "upper" / "to-dir")
    os.symlink(outside / "keep" / "file", victim / "upper" / "deep" / "to-file")
    os.mkfifo(victim / "upper" / "fifo")
    (victim / "work" / "work").mkdir(parents=True)
    os.chmod(victim / "work" / "work", 0)  # as overlayfs leaves it
    remove_tree(str(victim))
    assert not victim.exists()
    assert (outside / "keep" / "file").read_text() == "precious"
    with pytest.raises(FileNotFoundError):
        remove_tree(str(victim))


def test_remove_tree_of_a_symlink_removes_only_the_link(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("x")
    os.symlink(tmp_path / "real", tmp_path / "link")
    remove_tree(str(tmp_path / "link"))
    assert not os.path.lexists(tmp_path / "link") and (tmp_path / "real" / "f").exists()
