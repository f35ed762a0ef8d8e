"""sha256 for the start path's cache keys through CPython's own `_sha256`:
`hashlib` loads OpenSSL's `_hashlib` first, about 2 ms of every `pyreg run`."""
from __future__ import annotations

try:
    from _sha256 import sha256 as _sha256
except ImportError:  # another Python (3.12 calls it _sha2)
    from hashlib import sha256 as _sha256


def sha256_hex(data: bytes) -> str:
    return _sha256(data).hexdigest()
