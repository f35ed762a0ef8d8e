"""A process that publishes events to an endpoint that refuses them, says
when they are on disk, and waits to be killed:

    python -m tests.registry.events.notifier_process QUEUE_DIR URL COUNT
"""
from __future__ import annotations

import asyncio
import sys

from registry.events import Notifier, parse_notifications
from registry.events.envelope import RequestInfo, make_event, target


async def main(queue_dir: str, url: str, count: int) -> None:
    settings = parse_notifications({"endpoints": [{"name": "listener", "url": url, "backoff": "50ms"}]})
    notifier = Notifier(settings, queue_dir, "process:5000")
    await notifier.start()
    request = RequestInfo("r", "127.0.0.1:1", "process:5000", "PUT", "test")
    for number in range(count):
        notifier.publish(make_event("push", target("app", tag=f"t{number}"), request, notifier.source))
        await asyncio.sleep(0)
    while notifier.queues[0][1].size() < count:
        await asyncio.sleep(0.01)
    print("persisted", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
