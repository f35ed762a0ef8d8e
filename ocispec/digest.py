"""Content digests (`algorithm:encoded`) and the streaming verifier shared by
the registry and the client."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .errors import ErrorCode, OciError

# image-spec: algorithm-component (separated by [+._-]) ":" encoded
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
_ENCODED_RE = {alg: re.compile(f"[0-9a-f]{{{n}}}") for alg, n in _HEX_LENGTHS.items()}
SUPPORTED_ALGORITHMS = tuple(_HEX_LENGTHS)


@dataclass(frozen=True, slots=True)
class Digest:
    algorithm: str
    encoded: str

    @classmethod
    def parse(cls, text: str) -> "Digest":
        """Parse and validate; raises OciError(DIGEST_INVALID)."""
        if not isinstance(text, str) or len(text) > 256 or not _DIGEST_RE.fullmatch(text):
            raise OciError(ErrorCode.DIGEST_INVALID, "invalid digest format", {"digest": str(text)[:100]})
        algorithm, encoded = text.split(":", 1)
        expected = _HEX_LENGTHS.get(algorithm)
        if expected is None:
            raise OciError(ErrorCode.DIGEST_INVALID, f"unsupported digest algorithm {algorithm!r}",
                           {"digest": text[:100]})
        if not _ENCODED_RE[algorithm].fullmatch(encoded):
            raise OciError(ErrorCode.DIGEST_INVALID, "invalid digest encoding", {"digest": text[:100]})
        return cls(algorithm, encoded)

    @classmethod
    def is_valid(cls, text: str) -> bool:
        try:
            cls.parse(text)
        except OciError:
            return False
        return True

    @classmethod
    def of_bytes(cls, data: bytes, algorithm: str = "sha256") -> "Digest":
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self):
        return hashlib.new(self.algorithm)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"


class Verifier:
    """Hashes a stream as it passes and checks it against an expected digest
    (and optionally size) at the end. The bytes are never kept."""

    def __init__(self, expected: Digest | None = None, size: int | None = None,
                 algorithm: str = "sha256"):
        self.expected = expected
        self.expected_size = size
        self._hash = hashlib.new(expected.algorithm if expected else algorithm)
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)

    def copy_hash(self):
        return self._hash.copy()

    def digest(self) -> Digest:
        return Digest(self._hash.name, self._hash.hexdigest())

    def matches(self) -> bool:
        if self.expected_size is not None and self.size != self.expected_size:
            return False
        return self.expected is None or self.digest() == self.expected

    def verify(self) -> Digest:
        """Raise OciError unless the stream matched; return its digest."""
        if self.expected_size is not None and self.size != self.expected_size:
            raise OciError(ErrorCode.SIZE_INVALID,
                           f"size {self.size} does not match expected {self.expected_size}")
        actual = self.digest()
        if self.expected is not None and actual != self.expected:
            raise OciError(ErrorCode.DIGEST_INVALID,
                           f"content digest {actual} does not match {self.expected}")
        return actual
