"""The builder's one exception type: every refusal is a one-line message that
the command line prints as it is."""
from __future__ import annotations


class BuildError(Exception):
    """A Dockerfile, a context or a build step that cannot be built."""

    @classmethod
    def at(cls, file: str, line: int, instruction: str, message: str) -> "BuildError":
        """An error located in a Dockerfile: `Dockerfile:3: COPY: message`."""
        where = f"{file}:{line}"
        return cls(f"{where}: {instruction}: {message}" if instruction else f"{where}: {message}")
