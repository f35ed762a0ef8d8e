"""What a build asks of registries and of other image locations, through the
client (puller.operations), each call in its own event loop and transport:
pull a base image as `pyreg pull` does, push a finished image as
`pyreg push` does, and copy it out to `oci:DIR` or `docker-archive:FILE`.
Failures are the client's (puller.errors.PullerError), one line each.

Every call finishes its event loop before the next step: RUN steps fork,
and nothing of a loop or its threads must be half alive in the child.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ocispec.descriptor import Descriptor, Platform
from puller import operations as ops
from puller.copy import copy_image
from puller.copy_ends import LayoutSource
from puller.http.transport import Transport, TransportOptions
from puller.locations import open_destination
from puller.progress import Progress
from puller.store import LocalStore

JOBS = 6


@dataclass(frozen=True)
class Registries:
    store: LocalStore
    progress: Progress
    transport: TransportOptions = TransportOptions()

    def _run(self, make):
        async def main():
            async with Transport(self.transport) as transport:
                return await make(transport)
        return asyncio.run(main())

    def pull(self, text: str, platform: Platform) -> None:
        options = ops.PullOptions(platform=platform, jobs=JOBS)
        self._run(lambda transport: ops.pull(self.store, text, transport, options, self.progress))

    def push(self, name: str) -> str:
        """Push a stored image under its name; what `pyreg push` prints."""
        target, result = self._run(lambda transport: ops.push(self.store, name, None, transport,
                                                              JOBS, self.progress))
        return f"{target.name}@{result.descriptor.digest}"

    def export(self, name: str, descriptor: Descriptor, destination: str) -> None:
        """Copy the stored image to `oci:DIR[:TAG]` or `docker-archive:FILE[:REF]`."""
        async def copy(transport):
            source = LayoutSource(self.store.layout, name, descriptor)
            async with open_destination(destination, transport, self.store.root) as dest:
                await copy_image(source, dest, platform=None, jobs=JOBS, progress=self.progress)
        self._run(copy)
