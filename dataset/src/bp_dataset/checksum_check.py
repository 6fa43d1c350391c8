"""The checksums check: every file of ``meta/SHA256SUMS`` present with its sha256, nothing else.

Files are hashed in parallel threads (hashlib and file reads release the GIL, so every
core works), each streamed in 1 MiB blocks, largest first so the threads finish
together. What a lab gets from this check equals ``sha256sum -c meta/SHA256SUMS`` plus
the files that ``sha256sum`` would not notice: present but not listed (leftovers of
interrupted writes, ``.bp-tmp-*``, included). Only ``_DELIVERY.json`` and ``DELIVERY.md``
may lie beside a delivered dataset unlisted; :func:`bp_dataset.delivery.delivery_checks`
checks them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from bp_sdk.errors import BPError, NotFoundError

from bp_dataset.checksums import dataset_digest, missing_and_extra, parse_sums, sha256_stream
from bp_dataset.delivery import NOT_DATASET_FILES, delivery_checks
from bp_dataset.layout import SHA256SUMS
from bp_dataset.report import CHECKSUMS, CheckResult, Problems, VerifyReport
from bp_dataset.root import DatasetFile, DatasetRoot

Progress = Callable[[str, int, int], None]  # (what, done, total)


def default_workers() -> int:
    """One hashing thread per core (at least two: reads overlap with hashing)."""
    return max(2, os.cpu_count() or 2)


@dataclass
class ChecksumOutcome:
    """The check's result, the dataset digest and the sha256 of every file hashed."""

    result: CheckResult
    digest: str | None
    digests: dict[str, str] = field(default_factory=dict)
    sums: bytes | None = None


def hash_files(
    root: DatasetRoot,
    files: list[DatasetFile],
    workers: int | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """``({path: sha256}, {path: error})`` of ``files``, hashed in parallel threads."""

    def one(f: DatasetFile) -> tuple[str, int]:
        with root.open(f.path) as stream:
            return sha256_stream(stream)

    digests: dict[str, str] = {}
    errors: dict[str, str] = {}
    total = sum(f.size for f in files)
    done = 0
    ordered = sorted(files, key=lambda f: (-f.size, f.path))
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        futures = {pool.submit(one, f): f for f in ordered}
        for fut in as_completed(futures):
            f = futures[fut]
            try:
                digests[f.path], _size = fut.result()
            except (BPError, OSError) as exc:
                errors[f.path] = type(exc).__name__ if not str(exc) else str(exc)[:200]
            done += f.size
            if progress is not None:
                progress(CHECKSUMS, done, total)
    return digests, errors


def check_checksums(
    root: DatasetRoot, workers: int | None = None, progress: Progress | None = None
) -> ChecksumOutcome:
    """Compare every file under ``root`` with ``meta/SHA256SUMS``; each problem names the file."""
    problems = Problems()
    try:
        sums = root.read(SHA256SUMS)
    except BPError as exc:
        why = "missing" if isinstance(exc, NotFoundError) else f"cannot be read ({exc.message})"
        problems.add(f"{SHA256SUMS}: {why[:240]} (the dataset cannot be checked without it)")
        return ChecksumOutcome(CheckResult.from_problems(CHECKSUMS, problems, None, ""), None)
    listed, sum_errors = parse_sums(sums)
    for err in sum_errors:
        problems.add(f"{SHA256SUMS} line {err.line}: {err.problem}")
    present = {f.path: f for f in present_files(root) if f.path not in NOT_DATASET_FILES}
    missing, extra = missing_and_extra(listed, present)
    for path in missing:
        problems.add(f"{path}: listed in {SHA256SUMS} but missing")
    for path in extra:
        problems.add(f"{path}: present but not listed in {SHA256SUMS}")
    to_hash = [present[p] for p in sorted(listed) if p in present]
    digests, errors = hash_files(root, to_hash, workers, progress)
    for path, why in sorted(errors.items()):
        problems.add(f"{path}: could not be read ({why})")
    bad = 0
    for path in sorted(digests):
        if digests[path] != listed[path]:
            bad += 1
            problems.add(
                f"{path}: sha256 differs from {SHA256SUMS} (listed {listed[path][:12]}…, "
                f"file {digests[path][:12]}…): the file was modified or corrupted"
            )
    size = sum(f.size for f in to_hash)
    value = {
        "files": len(listed),
        "bytes": size,
        "missing": len(missing),
        "unlisted": len(extra),
        "mismatched": bad,
    }
    summary = f"{len(digests) - bad}/{len(listed)} files match ({size:,} bytes)"
    result = CheckResult.from_problems(CHECKSUMS, problems, value, summary)
    return ChecksumOutcome(result, dataset_digest(sums), digests, sums)


def present_files(root: DatasetRoot) -> list[DatasetFile]:
    """Every object under the root, leftovers of interrupted writes included."""
    start = f"{root.prefix}/" if root.prefix else ""
    return [
        DatasetFile(info.path[len(start) :], info.size)
        for info in root.storage.list(start, include_temporary=True)
        if info.path.startswith(start)
    ]


def verify_checksums(
    root: DatasetRoot,
    workers: int | None = None,
    progress: Progress | None = None,
    *,
    delivery: bool = False,
    digest: str | None = None,
) -> VerifyReport:
    """``bp verify --checksums-only``: the checksums check, and the delivery and pinned
    digest checks where they apply (imports no pyarrow/PyAV)."""
    cs = check_checksums(root, workers, progress)
    checks = [cs.result, *delivery_checks(root, cs.digest, required=delivery, pinned=digest)]
    return VerifyReport(
        target=root.label, dataset_digest=cs.digest, checks=checks, file_digests=cs.digests
    )
