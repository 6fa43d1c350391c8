"""Hashing and canonical JSON: the one way every stage computes digests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, BinaryIO

CHUNK = 1 << 20


def canonical_json(value: Any) -> bytes:
    """Stable JSON bytes (sorted keys, no spaces, no NaN) for hashing and records."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_json(value: Any) -> str:
    """Hex sha256 of the canonical JSON of ``value``."""
    return sha256_bytes(canonical_json(value))


def sha256_stream(stream: BinaryIO) -> tuple[str, int]:
    """Hex sha256 and byte count of a stream, read in 1 MiB chunks."""
    h = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def sha256_chunks(chunks: Iterable[bytes]) -> str:
    """Hex sha256 of the concatenation of ``chunks``."""
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return h.hexdigest()


def derive_seed(*parts: Any) -> int:
    """A 63-bit seed from (scene, configuration, base seed, index, ...): never time or run id."""
    return int.from_bytes(hashlib.sha256(canonical_json(list(parts))).digest()[:8], "big") >> 1
