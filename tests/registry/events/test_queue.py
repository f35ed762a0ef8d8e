"""The on-disk queue: bounded, shared by processes, kept across a kill -9."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from registry.events import Notifier, parse_notifications
from registry.events.envelope import RequestInfo, make_event, target
from registry.events.queue import TEMP_PREFIX, DiskQueue

from .conftest import eventually

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
REQUEST = RequestInfo("r", "127.0.0.1:1", "test:5000", "PUT", "test")


def event(tag: str, source) -> dict:
    return make_event("push", target("app", tag=tag), REQUEST, source)


def test_a_full_queue_drops_its_oldest_events(tmp_path):
    queue = DiskQueue(str(tmp_path / "q"), limit=5)
    for batch in (["a", "b"], ["c", "d"], ["e", "f"]):
        queue.append([{"tag": tag} for tag in batch])
    assert queue.size() == 4 and queue.dropped == 2
    assert [e["tag"] for name in queue.batches() for e in queue.read(name)] == ["c", "d", "e", "f"]


def test_writers_of_one_directory_keep_their_order_and_litter_is_cleared(tmp_path):
    directory = str(tmp_path / "q")
    first, second = DiskQueue(directory), DiskQueue(directory)
    for number in range(6):
        (first if number % 2 else second).append([{"n": number}])
    assert [queue_event["n"] for name in first.batches() for queue_event in first.read(name)] == list(range(6))
    litter = os.path.join(directory, TEMP_PREFIX + "x.json")
    open(litter, "w").close()
    os.utime(litter, (0, 0))  # a writer killed long ago
    open(os.path.join(directory, "00-1-1-1.json"), "w").write("{not json")
    queue = DiskQueue(directory)
    assert not os.path.exists(litter)
    assert queue.read("00-1-1-1.json") is None and "00-1-1-1.json" not in queue.batches()


async def test_events_on_disk_survive_a_kill_and_are_delivered_after_restart(receiver, tmp_path):
    receiver.mode = "fail"
    process = subprocess.Popen([sys.executable, "-m", "tests.registry.events.notifier_process",
                                str(tmp_path / "queue"), receiver.url, "25"],
                               cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": REPO_ROOT},
                               stdout=subprocess.PIPE)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 60)
        assert line.strip() == b"persisted"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    receiver.mode = "ok"
    settings = parse_notifications({"endpoints": [{"name": "listener", "url": receiver.url}]})
    restarted = Notifier(settings, str(tmp_path / "queue"), "test:5000")
    await restarted.start()
    try:
        await eventually(lambda: len(receiver.events) == 25)
    finally:
        await restarted.stop()
    assert [e["target"]["tag"] for e in receiver.events] == [f"t{n}" for n in range(25)]


async def test_two_notifiers_on_one_queue_deliver_each_event_once(receiver, tmp_path):
    settings = parse_notifications({"endpoints": [{"name": "listener", "url": receiver.url}]})
    notifiers = [Notifier(settings, str(tmp_path / "queue"), f"worker{n}:5000") for n in range(2)]
    for notifier in notifiers:
        await notifier.start()
    try:
        for number in range(20):
            notifier = notifiers[number % 2]
            notifier.publish(event(f"t{number}", notifier.source))
            await asyncio.sleep(0.005)
        await eventually(lambda: len(receiver.events) >= 20)
        await asyncio.sleep(0.3)
    finally:
        for notifier in notifiers:
            await notifier.stop()
    assert sorted(e["target"]["tag"] for e in receiver.events) == sorted(f"t{n}" for n in range(20))
    assert len({e["id"] for e in receiver.events}) == 20
