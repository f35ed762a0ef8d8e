"""One readable line for every failure a user can cause or meet: a bad name,
a wrong password, a broken registry, a full disk. None means "a bug": the
CLI lets those through to its last line of defence."""
from __future__ import annotations

import errno

from ocispec.errors import OciError


class PullerError(Exception):
    """Base of the client's own failures. When one is raised inside a request
    body (a source failing verification, say), the transport re-raises it
    rather than mistaking it for a network error worth retrying."""


class Interrupted(PullerError):
    """A download broke off; what arrived stays in ingest/ to resume from."""


def own_failure(err: BaseException) -> PullerError | None:
    """The PullerError behind a library's wrapper exception, if any."""
    seen = 0
    while err is not None and seen < 10:
        if isinstance(err, PullerError):
            return err
        err, seen = err.__cause__ or err.__context__, seen + 1
    return None


def user_message(err: BaseException) -> str | None:
    from .credentials import CredentialError
    from .layout_io import BlobMismatch
    from .store import ImageNotFound
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return "no space left on device (partial downloads are kept in the store's ingest/)"
    if isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"permission denied: {err.filename or err}"
    if isinstance(err, (CredentialError, BlobMismatch, Interrupted, ImageNotFound, LookupError)):
        return _first_line(err)
    if isinstance(err, OciError):
        return f"{err.code.code}: {err.message}"
    if isinstance(err, OSError) and err.strerror and err.filename:
        return f"{err.filename}: {err.strerror.lower()}"
    if isinstance(err, ValueError):
        return _first_line(err)
    return _transport_message(err)


def _transport_message(err: BaseException) -> str | None:
    try:
        from .transport import RegistryError
    except ImportError:
        return None
    if isinstance(err, RegistryError):
        return _first_line(err)
    import asyncio
    import aiohttp
    if isinstance(err, (aiohttp.ClientError, asyncio.TimeoutError)):
        return f"network error: {_first_line(err)}"
    return None


def _first_line(err: BaseException) -> str:
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    text = text.strip()
    return text.splitlines()[0] if text else type(err).__name__
