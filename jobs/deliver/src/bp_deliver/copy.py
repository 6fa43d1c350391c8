"""Copy a dataset file by file, streamed, checking each file's sha256 as it passes.

Each file is read from the source and written to the destination in 1 MiB blocks
through the storage interface (a ``gs://`` destination spools and uploads on close; a
local one renames into place), so a file appears at the destination whole or not at
all. A file whose bytes do not match ``meta/SHA256SUMS`` on the way is not written.
Files are copied by parallel threads.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bp_dataset.root import DatasetRoot
from bp_sdk.errors import BPError

BLOCK = 1 << 20


@dataclass(frozen=True)
class Copied:
    """One copied file: its size and the sha256 of the bytes that passed."""

    path: str
    size: int
    sha256: str


class CopyMismatch(Exception):  # noqa: N818 - an outcome, raised to abort the write
    """The bytes read from the source do not match SHA256SUMS."""


def copy_file(src: DatasetRoot, dst: DatasetRoot, rel: str, want: str) -> Copied:
    """Stream ``rel`` from ``src`` to ``dst``; raise :class:`CopyMismatch` (nothing written)
    if the source bytes do not hash to ``want``."""
    h = hashlib.sha256()
    size = 0
    with src.open(rel) as fin, dst.storage.open_write(dst.key(rel)) as fout:
        while block := fin.read(BLOCK):
            h.update(block)
            size += len(block)
            fout.write(block)
        if h.hexdigest() != want:
            raise CopyMismatch(f"{rel}: source bytes do not match meta/SHA256SUMS (not copied)")
    return Copied(rel, size, h.hexdigest())


def copy_all(
    src: DatasetRoot, dst: DatasetRoot, files: dict[str, str], workers: int
) -> tuple[list[Copied], list[str]]:
    """Copy every ``{path: sha256}``; the copies and the problems (each naming its file)."""

    def one(item: tuple[str, str]) -> Copied | str:
        rel, want = item
        try:
            return copy_file(src, dst, rel, want)
        except CopyMismatch as exc:
            return str(exc)
        except BPError as exc:
            return f"{rel}: copy failed ({exc.message[:160]})"
        except OSError as exc:
            return f"{rel}: copy failed ({type(exc).__name__}: {str(exc)[:120]})"

    copied: list[Copied] = []
    problems: list[str] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(one, sorted(files.items())):
            if isinstance(result, Copied):
                copied.append(result)
            else:
                problems.append(result)
    return copied, problems
