"""``meta/SHA256SUMS``: the sha256 of every other dataset file, in ``sha256sum -c`` format.

A line is ``<64 hex>  <relative path>`` (two spaces: text mode), sorted by path, paths
relative to the dataset root. The dataset digest is the sha256 of the SHA256SUMS file.
Hashing streams the file in blocks, so memory does not grow with the dataset.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import BinaryIO, Final

from bp_dataset.layout import SHA256SUMS

BLOCK: Final = 1 << 20
_LINE = re.compile(r"^([0-9a-f]{64})  ([^\n]+)$")


def sha256_stream(f: BinaryIO, block: int = BLOCK) -> tuple[str, int]:
    """(hex digest, size) of a readable binary stream."""
    h = hashlib.sha256()
    size = 0
    while chunk := f.read(block):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def format_sums(digests: Mapping[str, str]) -> bytes:
    """The SHA256SUMS text for ``{relative path: sha256}`` (the file itself excluded)."""
    lines = [f"{digests[p]}  {p}\n" for p in sorted(digests) if p != SHA256SUMS]
    return "".join(lines).encode()


def dataset_digest(sums: bytes) -> str:
    """The dataset digest: sha256 of the SHA256SUMS bytes."""
    return hashlib.sha256(sums).hexdigest()


@dataclass(frozen=True)
class SumsError:
    """One problem with SHA256SUMS itself (a malformed or duplicated line)."""

    line: int
    problem: str


def parse_sums(data: bytes) -> tuple[dict[str, str], list[SumsError]]:
    """``{path: sha256}`` and the problems of each line that could not be taken."""
    out: dict[str, str] = {}
    errors: list[SumsError] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {}, [SumsError(0, "is not UTF-8 text")]
    for n, line in enumerate(text.splitlines(), start=1):
        m = _LINE.fullmatch(line)
        if m is None:
            errors.append(SumsError(n, "expected '<64 lowercase hex>  <path>'"))
            continue
        digest, path = m.groups()
        if path in out:
            errors.append(SumsError(n, f"{path!r} is listed twice"))
            continue
        if path.startswith("/") or ".." in path.split("/") or path == SHA256SUMS:
            errors.append(SumsError(n, f"{path!r} is not a path inside the dataset"))
            continue
        out[path] = digest
    return out, errors


def missing_and_extra(listed: Iterable[str], present: Iterable[str]) -> tuple[list[str], list[str]]:
    """Files listed but absent, and files present but not listed (SHA256SUMS excluded)."""
    a = set(listed)
    b = {p for p in present if p != SHA256SUMS}
    return sorted(a - b), sorted(b - a)
