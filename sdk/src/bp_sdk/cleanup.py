"""Remove uncommitted attempt folders older than a grace period.

An attempt folder is garbage when no commit record names it and nothing in it was
written within the grace period. Committed attempts are never touched; failure
markers are kept (they are the record of what went wrong) unless asked otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bp_sdk.commit import CommitRecord, now
from bp_sdk.errors import BPError, ExitCode
from bp_sdk.layout import ATTEMPTS, FAILURE, SUCCESS
from bp_sdk.logs import LogContext, configure_logging
from bp_sdk.storage import ObjectInfo, Storage, open_storage

log = logging.getLogger("bp.cleanup")
PREFIXES = ("scenes/", "datasets/")  # where stages commit (scene runs, dataset stages)


@dataclass
class CleanupReport:
    """What a cleanup pass found and did."""

    committed_attempts: int = 0
    kept_recent: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    removed_files: int = 0
    removed_bytes: int = 0


def _attempt_of(path: str) -> str | None:
    """``.../<unit>/attempts/<id>`` for a key inside an attempt folder."""
    parts = path.split("/")
    for i in range(len(parts) - 2, 0, -1):
        if parts[i] == ATTEMPTS and i + 1 < len(parts) - 1:
            return "/".join(parts[: i + 2])
    return None


def _group(objects: Iterator[ObjectInfo]) -> tuple[dict[str, list[ObjectInfo]], list[ObjectInfo]]:
    attempts: dict[str, list[ObjectInfo]] = {}
    records: list[ObjectInfo] = []
    for info in objects:
        if info.path.endswith("/" + SUCCESS):
            records.append(info)
        folder = _attempt_of(info.path)
        if folder is not None:
            attempts.setdefault(folder, []).append(info)
    return attempts, records


def cleanup(
    storage: Storage,
    grace: timedelta,
    *,
    prefix: str | None = None,
    dry_run: bool = False,
    keep_markers: bool = True,
    at: datetime | None = None,
) -> CleanupReport:
    """Delete uncommitted attempt folders under ``prefix`` (default: every scene run and
    every dataset) idle for longer than ``grace``."""
    if grace < timedelta(0):
        raise ValueError("grace period must not be negative")
    current = at or now()
    prefixes = [prefix] if prefix is not None else list(PREFIXES)
    attempts, records = _group(o for p in prefixes for o in storage.list(p, include_temporary=True))
    committed: set[str] = set()
    for rec in records:
        record = CommitRecord.model_validate_json(storage.read_bytes(rec.path))
        committed.add(record.attempt_dir)
    report = CleanupReport()
    for folder, files in sorted(attempts.items()):
        if folder in committed:
            report.committed_attempts += 1
            continue
        newest = max(f.updated for f in files)
        if current - newest < grace:
            report.kept_recent.append(folder)
            continue
        doomed = [f for f in files if not (keep_markers and f.path.endswith("/" + FAILURE))]
        if not doomed:
            continue
        report.removed.append(folder)
        for f in doomed:
            report.removed_files += 1
            report.removed_bytes += f.size
            if not dry_run:
                storage.delete(f.path)
    log.info(
        "cleanup: %d uncommitted attempt folders %s, %d committed kept, %d too recent",
        len(report.removed),
        "would be removed" if dry_run else "removed",
        report.committed_attempts,
        len(report.kept_recent),
        extra={
            "fields": {"removed_files": report.removed_files, "removed_bytes": report.removed_bytes}
        },
    )
    return report


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``24h`` or ``7d``."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise ValueError(
            f"invalid duration {text!r}: use a whole number followed by s, m, h or d (e.g. 24h)"
        )
    return timedelta(**{units[text[-1]]: int(text[:-1])})


def main(argv: list[str] | None = None) -> None:
    """``bp-cleanup --storage URI [--grace 24h] [--dry-run]`` (also run by ``bp cleanup``)."""
    parser = argparse.ArgumentParser(prog="bp-cleanup", description=__doc__)
    parser.add_argument("--storage", required=True, help="gs://bucket[/prefix] or file:///abs/path")
    parser.add_argument(
        "--grace", default="24h", type=parse_duration, help="idle time before removal (24h)"
    )
    parser.add_argument("--dry-run", action="store_true", help="only report what would be removed")
    parser.add_argument(
        "--remove-markers", action="store_true", help="also remove _FAILURE.json files"
    )
    args = parser.parse_args(argv)
    configure_logging(LogContext(labels={"job": "bp-cleanup"}), fmt="console")
    try:
        cleanup(
            open_storage(args.storage),
            args.grace,
            dry_run=args.dry_run,
            keep_markers=not args.remove_markers,
        )
    except BPError as err:
        log.error("cleanup failed: %s", err.render())  # noqa: TRY400 - no traceback for callers
        sys.exit(int(err.exit_code))
    sys.exit(int(ExitCode.OK))
