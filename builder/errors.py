"""The builder's one exception type: every refusal is a one-line message that
the command line prints as it is (a failing RUN adds its last output lines)."""
from __future__ import annotations


class BuildError(Exception):
    """A Dockerfile, a context or a build step that cannot be built."""

    located = False  # whether the message already names the file and the line

    @classmethod
    def at(cls, file: str, line: int, instruction: str, message: str) -> "BuildError":
        """An error located in a Dockerfile: `Dockerfile:3: COPY: message`."""
        where = f"{file}:{line}"
        error = cls(f"{where}: {instruction}: {message}" if instruction else f"{where}: {message}")
        error.located = True
        return error
