"""The base of every failure the runtime expects: a message that is the
line to show, and the exit code `pyreg run` ends with (docker's: 125 when
the container could not be made or started, 126 when its command cannot be
executed, 127 when it is not found). Each wing derives its own kinds from
it; the command line renders this base and nothing below it formats for
people. Anything else that escapes is a bug.
"""
from __future__ import annotations

EXIT_SETUP_FAILED = 125
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127


class RuntimeFailure(Exception):
    exit_code = EXIT_SETUP_FAILED

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


def exit_code_of(err: BaseException) -> int:
    """The exit code a failure ends a start with: its own, or 125."""
    return err.exit_code if isinstance(err, RuntimeFailure) else EXIT_SETUP_FAILED


def describe(err: BaseException) -> str:
    """One line for an error, without Python's `[Errno N]` prefix. A child
    sends it over its report pipe, where no exception can travel."""
    if isinstance(err, OSError) and err.strerror:
        where = f": {err.filename}" if err.filename and str(err.filename) not in err.strerror else ""
        return f"{err.strerror}{where}"
    return str(err) or type(err).__name__
