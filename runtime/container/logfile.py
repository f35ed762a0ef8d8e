"""A container's kept output: `<container dir>/container.log`, bounded and
rotated as docker's json-file driver does with max-size and max-file.

The supervisor (the attached `pyreg run`, or the shim of a detached one)
reads the container's stdout and stderr from pipes and copies every chunk
to the log and, when attached, to its own stdout and stderr. When the log
would pass max-size it becomes container.log.1 (.1 becomes .2, ...), and
only max-file files are kept in all. `pyreg logs` reads them oldest first.
A container run with --rm keeps no log: it would be removed with it.
"""
from __future__ import annotations

import os
import select

from .. import paths

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_FILES = 2
_CHUNK = 1 << 16


class RotatingLog:
    def __init__(self, path: str, max_size: int | None = None, max_files: int | None = None):
        self.path, self.max_size = path, max_size or DEFAULT_MAX_SIZE
        self.max_files = max(1, max_files or DEFAULT_MAX_FILES)
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self.size = os.fstat(self.fd).st_size

    def write(self, data: bytes) -> None:
        """Append, rotating whenever the file is full: no file passes max_size."""
        while data:
            if self.size >= self.max_size:
                self._rotate()
            written = os.write(self.fd, data[:self.max_size - self.size])
            self.size += written
            data = data[written:]

    def _rotate(self) -> None:
        os.close(self.fd)
        for index in range(self.max_files - 1, 0, -1):
            older = rotated_name(self.path, index)
            if index == self.max_files - 1 and os.path.exists(older):
                os.unlink(older)
            source = self.path if index == 1 else rotated_name(self.path, index - 1)
            if os.path.exists(source):
                os.replace(source, older)
        if self.max_files == 1:
            os.unlink(self.path)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self.size = 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def open_log(root: str, container) -> RotatingLog:
    """The kept output of container, with its --log-opt sizes."""
    return RotatingLog(paths.container_file(root, container.id, paths.LOG),
                       container.log_max_size, container.log_max_files)


def rotated_name(path: str, index: int) -> str:
    return f"{path}.{index}"


def log_files(path: str) -> list[str]:
    """The log's files that exist, oldest first, the current one last."""
    rotated, index = [], 1
    while os.path.exists(rotated_name(path, index)):
        rotated.append(rotated_name(path, index))
        index += 1
    return rotated[::-1] + ([path] if os.path.exists(path) else [])


class OutputPipes:
    """The container's stdout and stderr as pipes, copied to the log and,
    when attached, to our own stdout and stderr."""

    def __init__(self, log: RotatingLog, attached: bool):
        self.log = log
        out_read, out_write = os.pipe2(os.O_CLOEXEC)
        err_read, err_write = os.pipe2(os.O_CLOEXEC)
        self.container_ends = (out_write, err_write)
        self.targets = {out_read: 1 if attached else -1, err_read: 2 if attached else -1}

    def started(self) -> None:
        """Close our copies of the container's ends: EOF then means it is gone."""
        for fd in self.container_ends:
            os.close(fd)
        self.container_ends = ()

    def copy_until_closed(self) -> None:
        while self.targets:
            ready, _, _ = select.select(list(self.targets), [], [])
            for fd in ready:
                data = os.read(fd, _CHUNK)
                if not data:
                    os.close(fd)
                    del self.targets[fd]
                    continue
                self.log.write(data)
                if self.targets[fd] >= 0:
                    _write_quietly(self.targets[fd], data)

    def close(self) -> None:
        for fd in (*self.container_ends, *self.targets):
            os.close(fd)
        self.container_ends, self.targets = (), {}
        self.log.close()


def _write_quietly(fd: int, data: bytes) -> None:
    """Our stdout may be closed or a broken pipe: the log still gets it all."""
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass
