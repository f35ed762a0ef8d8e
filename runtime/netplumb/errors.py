"""The one exception of host-side networking. Every expected failure (a port
in use, an address outside the subnet, a network in use, a name taken, a
missing tool) is one of these with one line of text; the command line prints
it and exits 125, as docker does for a container that could not be made."""
from __future__ import annotations

from ..errors import RuntimeFailure


class NetworkError(RuntimeFailure):
    pass
