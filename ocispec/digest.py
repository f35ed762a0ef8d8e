"""Content digests (`algorithm:encoded`) and the one streaming Verifier that
the registry, the client, the builder and the runtime check content with.
(Verified copies through it: ocispec/verified.py.)"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

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

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"


@dataclass(frozen=True, slots=True)
class HashState:
    """A Verifier's running hash, saved to resume from: `size` bytes hashed.

    hashlib objects can be copied but not serialised, so a state stays in the
    process that saved it (the registry keeps them by upload and offset, and
    rebuilds a missing one by hashing the stored bytes again). A state is a
    private copy: saving and resuming each copy it (a sha256 copy takes about
    0.1 us here), so one state can be resumed any number of times."""
    algorithm: str
    size: int
    running: Any  # a hashlib object that nothing updates


class Verifier:
    """Hashes a stream as it passes and checks it against an expected digest
    and size at the end. The bytes are never kept.

    The one rule for a stream longer than its descriptor: bytes past the
    expected size are refused before they are hashed (and so before any
    caller stores them), with SIZE_INVALID."""

    def __init__(self, expected: Digest | None = None, size: int | None = None,
                 algorithm: str = "sha256"):
        self.expected = expected
        self.expected_size = size
        self._hash = hashlib.new(expected.algorithm if expected else algorithm)
        self.size = 0

    @classmethod
    def resume(cls, state: HashState, expected: Digest | None = None,
               size: int | None = None) -> "Verifier":
        """Go on from a saved state, as if its bytes had just passed."""
        if expected is not None and expected.algorithm != state.algorithm:
            raise ValueError(f"a {state.algorithm} state cannot verify {expected}")
        verifier = cls(expected, size, state.algorithm)
        verifier._hash, verifier.size = state.running.copy(), state.size
        return verifier

    def save(self) -> HashState:
        return HashState(self._hash.name, self.size, self._hash.copy())

    def refuse_beyond(self, total: int) -> None:
        """Raise now if a stream of `total` bytes would be longer than expected
        (bytes announced by a Content-Length, a batch about to be stored)."""
        if self.expected_size is not None and total > self.expected_size:
            raise OciError(ErrorCode.SIZE_INVALID,
                           f"content is longer than the {self.expected_size} bytes expected")

    def update(self, chunk) -> None:
        self.refuse_beyond(self.size + len(chunk))
        self._hash.update(chunk)
        self.size += len(chunk)

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
                           f"content digest {actual} does not match {self.expected}",
                           {"digest": str(self.expected)})
        return actual


def verify_bytes(data: bytes, expected: Digest) -> Digest:
    """Check bytes held in memory (a manifest, a config); raises OciError."""
    verifier = Verifier(expected)
    verifier.update(data)
    return verifier.verify()
