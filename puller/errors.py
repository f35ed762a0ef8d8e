"""Every failure of the client, under one base. Each message is one line
that a person can act on; the command line prints it and nothing else, so
nothing here formats for a terminal.

Standard library and ocispec only: every other module of the client imports
this one, and it imports none of them.

Two classes keep a second, built-in base for callers outside the client that
catch by built-in type (the runtime's image lookup catches LookupError and
ValueError): ImageNotFound and NoMatchingPlatform are LookupErrors,
InvalidReference and CorruptImage ValueErrors.
"""
from __future__ import annotations

import contextlib
import errno
from typing import Iterator

from ocispec.errors import ErrorCode


class PullerError(Exception):
    """Base of the client's failures; str() is the line to show."""


class RegistryError(PullerError):
    """A registry said no, answered nonsense, or could not be reached."""

    def __init__(self, message: str, status: int | None = None, code: ErrorCode | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class Unreachable(RegistryError):
    """The network failed on the way to a registry (refused, reset, timed out)."""


class Interrupted(PullerError):
    """A transfer broke off; what arrived stays in ingest/ to resume from."""


class BlobMismatch(PullerError):
    """Bytes did not match their descriptor (digest or size); nothing was stored."""

    def __init__(self, message: str, resumed: bool = False):
        super().__init__(message)
        self.resumed = resumed


class CredentialError(PullerError):
    """docker's config.json or a credential helper failed; the message says how."""


class ArchiveError(PullerError):
    """An archive is malformed or cannot be written; the message says which part."""


class InvalidReference(PullerError, ValueError):
    """A name or location the user typed does not parse."""


class ImageNotFound(PullerError, LookupError):
    """No image answers to the name the user gave (the local store, a layout)."""


class NoMatchingPlatform(PullerError, LookupError):
    """An index has no image for the platform asked for."""


class CorruptImage(PullerError, ValueError):
    """Content in the local store or a layout does not verify or parse."""


class LocalFailure(PullerError):
    """A local file could not be read or written: a full disk, a permission."""


def _local_message(err: OSError) -> str:
    if err.errno == errno.ENOSPC:
        return "no space left on device (partial downloads are kept in the store's ingest/)"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"permission denied: {err.filename or err.strerror}"
    if err.strerror and err.filename:
        return f"{err.filename}: {err.strerror.lower()}"
    return str(err) or type(err).__name__


@contextlib.contextmanager
def local_failures() -> Iterator[None]:
    """Around a verb: an OSError that reaches here came from a local file
    (the HTTP layer turns network ones into RegistryError), so it becomes a
    LocalFailure that says which file and what went wrong."""
    try:
        yield
    except OSError as err:
        raise LocalFailure(_local_message(err)) from err
