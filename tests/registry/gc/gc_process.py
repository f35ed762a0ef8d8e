"""Run one garbage collection as its own process, for tests that race it or
kill it:

    python -m tests.registry.gc.gc_process '{"kind": "filesystem", "root": "/tmp/r"}' \\
        '{"grace": 0, ...Timing fields}' [--delete-untagged]

or `{"kind": "s3", "bucket": ..., "url": ..., "region": ..., "access_key": ...,
"secret_key": ..., "root_directory": ...}`. Prints the report as JSON.
"""
from __future__ import annotations

import asyncio
import json
import sys

from registry.gc import Timing, collect


def open_driver(spec: dict):
    if spec["kind"] == "filesystem":
        from storage_backends.filesystem import FilesystemDriver
        return FilesystemDriver(spec["root"])
    from storage_backends.s3 import S3Driver
    return S3Driver(spec["bucket"], spec["region"], spec["url"], spec["access_key"], spec["secret_key"],
                    root_directory=spec.get("root_directory", ""))


async def main(spec: dict, timing: Timing, delete_untagged: bool) -> dict:
    driver = open_driver(spec)
    try:
        report = await collect(driver, delete_untagged=delete_untagged, timing=timing)
    finally:
        await driver.close()
    return report.to_dict()


if __name__ == "__main__":
    result = asyncio.run(main(json.loads(sys.argv[1]), Timing(**json.loads(sys.argv[2])),
                              "--delete-untagged" in sys.argv[3:]))
    print(json.dumps(result))
