"""HTTP/1.1 over a bare socket, so that nothing between the test and the
server normalizes a hostile request: paths keep their `..` and `%2e`, header
values keep their NUL bytes, Content-Length may lie.

Only what the hostile table needs: build one request as bytes, send it,
read one response (Content-Length or chunked body, or up to EOF).
"""
from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field

READ_TIMEOUT = 15.0


@dataclass
class RawResponse:
    status: int | None                      # None: the server hung up without answering
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""

    def error_codes(self) -> list[str] | None:
        """The codes of an OCI `{"errors": [...]}` body, or None when it is not one."""
        try:
            data = json.loads(self.body)
            return [str(error["code"]) for error in data["errors"]]
        except (ValueError, KeyError, TypeError):
            return None

    def describe(self) -> str:
        return f"{self.status} {self.headers.get('content-type', '')} {self.body[:300]!r}"


def build(method: str, target: bytes | str, headers: dict[str, str] | None = None,
          body: bytes = b"", content_length: int | str | None = None) -> bytes:
    """One request with `Connection: close`; Content-Length is the body's
    unless `content_length` overrides it (or headers carry Transfer-Encoding)."""
    target = target.encode("latin-1") if isinstance(target, str) else target
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1",
             b"Connection: close"]
    headers = dict(headers or {})
    if content_length is None and body and "Transfer-Encoding" not in headers:
        content_length = len(body)
    if content_length is not None:
        headers["Content-Length"] = str(content_length)
    lines += [f"{name}: {value}".encode("latin-1") for name, value in headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def exchange(port: int, request: bytes, hang_up: bool = False,
             timeout: float = READ_TIMEOUT) -> RawResponse:
    """Send `request`; with `hang_up`, close the connection right after
    sending (a truncated upload) and report no response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused early; its answer may still be readable
        if hang_up:
            return RawResponse(None)  # leaving `with` closes it: the server reads EOF
        return parse(_read_all(sock, timeout))


def _read_all(sock: socket.socket, timeout: float) -> bytes:
    data = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
        if _complete(bytes(data)):
            break
    return bytes(data)


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    headers = _headers(head)
    if "content-length" in headers:
        return len(body) >= int(headers["content-length"])
    if "chunked" in headers.get("transfer-encoding", ""):
        return body.endswith(b"0\r\n\r\n")
    return False  # read to EOF


def _headers(head: bytes) -> dict[str, str]:
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def parse(data: bytes) -> RawResponse:
    if not data:
        return RawResponse(None)
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    headers = _headers(head)
    if "content-length" in headers:
        body = body[:int(headers["content-length"])]
    elif "chunked" in headers.get("transfer-encoding", ""):
        body = _dechunk(body)
    return RawResponse(int(status_line[1]), headers, body)


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += body[:size]
        body = body[size + 2:]
    return bytes(out)
