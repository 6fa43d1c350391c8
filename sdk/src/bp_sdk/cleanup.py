"""Remove what interrupted jobs leave behind, once it has been idle for a grace period.

Everything below is garbage by the commit protocol, and nothing else is touched:

* **uncommitted attempt folders** under ``scenes/`` and ``datasets/``: no commit record
  names them and nothing in them was written within the grace period (failure markers
  are kept — they are the record of what went wrong — unless asked otherwise);
* **temporary files** (``.bp-tmp-*``, the leftovers of a write interrupted before its
  rename or, for a commit record, between its link and its unlink) wherever they are under
  a prefix the pipeline owns: stage folders, committed attempts, inputs, approvals and
  ``deliveries/``;
* **incomplete deliveries**: a ``deliveries/<customer>/<dataset>/`` folder without its
  ``_DELIVERY.json`` record is not a delivery (a copy interrupted before its record); a
  separate delivery root (``DELIVER_ROOT``, ``<customer>/<dataset>/``) is swept the same way;
* **empty folders** those removals (or a writer killed before its first file) left;
* **local spool folders** of processes that no longer run on this machine
  (:func:`bp_sdk.spool.sweep`): ``bp cleanup`` and ``bp-cleanup`` run it too.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError

from bp_sdk import spool
from bp_sdk.commit import CommitRecord, now
from bp_sdk.errors import BPError, ExitCode
from bp_sdk.layout import ATTEMPTS, FAILURE, SUCCESS
from bp_sdk.logs import LogContext, configure_logging
from bp_sdk.storage import ObjectInfo, Storage, open_storage
from bp_sdk.storage.base import TMP_PREFIX

log = logging.getLogger("bp.cleanup")
PREFIXES = ("scenes/", "datasets/")  # where stages commit (scene runs, dataset stages)
DELIVERIES = "deliveries/"  # deliveries/<customer>/<dataset>/ + _DELIVERY.json, written last
DELIVERY_RECORD = "_DELIVERY.json"


@dataclass
class CleanupReport:
    """What a cleanup pass found and did."""

    committed_attempts: int = 0
    kept_recent: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    removed_files: int = 0
    removed_bytes: int = 0
    temp_files: list[str] = field(default_factory=list)
    incomplete_deliveries: list[str] = field(default_factory=list)
    unreadable_records: list[str] = field(default_factory=list)
    empty_folders: int = 0


def _attempt_of(path: str) -> str | None:
    """``.../<unit>/attempts/<id>`` for a key inside an attempt folder."""
    parts = path.split("/")
    for i in range(len(parts) - 2, 0, -1):
        if parts[i] == ATTEMPTS and i + 1 < len(parts) - 1:
            return "/".join(parts[: i + 2])
    return None


def _is_temp(path: str) -> bool:
    return path.rsplit("/", 1)[-1].startswith(TMP_PREFIX)


def _group(objects: Iterable[ObjectInfo]) -> tuple[dict[str, list[ObjectInfo]], list[ObjectInfo]]:
    attempts: dict[str, list[ObjectInfo]] = {}
    records: list[ObjectInfo] = []
    for info in objects:
        if info.path.endswith("/" + SUCCESS):
            records.append(info)
        folder = _attempt_of(info.path)
        if folder is not None:
            attempts.setdefault(folder, []).append(info)
    return attempts, records


class _Sweeper:
    """One pass: deletes (or, dry, only counts) and remembers what it removed."""

    def __init__(self, storage: Storage, current: datetime, grace: timedelta, dry: bool) -> None:
        self.storage, self.current, self.grace, self.dry = storage, current, grace, dry
        self.report = CleanupReport()
        self.deleted: set[str] = set()

    def idle(self, files: Iterable[ObjectInfo]) -> bool:
        newest = max((f.updated for f in files), default=None)
        return newest is None or self.current - newest >= self.grace

    def delete(self, info: ObjectInfo) -> None:
        if info.path in self.deleted:
            return
        self.deleted.add(info.path)
        self.report.removed_files += 1
        self.report.removed_bytes += info.size
        if not self.dry:
            self.storage.delete(info.path)

    def attempts(self, objects: list[ObjectInfo], keep_markers: bool) -> None:
        attempts, records = _group(objects)
        committed: set[str] = set()
        blocked: list[str] = []  # units whose record cannot be read: their attempts stay
        for rec in records:
            try:
                record = CommitRecord.model_validate_json(self.storage.read_bytes(rec.path))
            except (ValidationError, BPError):
                self.report.unreadable_records.append(rec.path)
                blocked.append(rec.path.rsplit("/", 1)[0] + "/")
                continue
            committed.add(record.attempt_dir)
        for folder, files in sorted(attempts.items()):
            if folder in committed or any(folder.startswith(b) for b in blocked):
                self.report.committed_attempts += folder in committed
                continue
            if not self.idle(files):
                self.report.kept_recent.append(folder)
                continue
            doomed = [f for f in files if not (keep_markers and f.path.endswith("/" + FAILURE))]
            if doomed:
                self.report.removed.append(folder)
            for f in doomed:
                self.delete(f)

    def temps(self, objects: list[ObjectInfo]) -> None:
        for info in objects:
            if _is_temp(info.path) and info.path not in self.deleted and self.idle([info]):
                self.report.temp_files.append(info.path)
                self.delete(info)

    def deliveries(self, objects: list[ObjectInfo], prefix: str) -> None:
        """``<prefix><customer>/<dataset>/``: remove those without a record, once idle."""
        folders: dict[str, list[ObjectInfo]] = {}
        for info in objects:
            parts = info.path[len(prefix) :].split("/")
            if len(parts) >= 3:  # customer/dataset/file...
                folders.setdefault(f"{prefix}{parts[0]}/{parts[1]}", []).append(info)
        for folder, files in sorted(folders.items()):
            if any(f.path == f"{folder}/{DELIVERY_RECORD}" for f in files):
                continue
            if not self.idle(files):
                self.report.kept_recent.append(folder)
                continue
            self.report.incomplete_deliveries.append(folder)
            for f in files:
                self.delete(f)

    def prune(self, prefixes: Iterable[str]) -> None:
        if self.dry:
            return
        for p in prefixes:
            self.report.empty_folders += self.storage.prune_empty_folders(
                p, self.current - self.grace
            )


def cleanup(
    storage: Storage,
    grace: timedelta,
    *,
    prefix: str | None = None,
    dry_run: bool = False,
    keep_markers: bool = True,
    at: datetime | None = None,
    deliveries: bool = True,
) -> CleanupReport:
    """Sweep ``prefix`` (default: every scene run, every dataset and, with ``deliveries``,
    ``deliveries/``) of what was idle for longer than ``grace``; see the module docstring."""
    if grace < timedelta(0):
        raise ValueError("grace period must not be negative")
    sweeper = _Sweeper(storage, at or now(), grace, dry_run)
    prefixes = [prefix] if prefix is not None else list(PREFIXES)
    staged = [o for p in prefixes for o in storage.list(p, include_temporary=True)]
    sweeper.attempts(staged, keep_markers)
    sweeper.temps(staged)
    if deliveries and prefix is None:
        delivered = list(storage.list(DELIVERIES, include_temporary=True))
        sweeper.temps(delivered)
        sweeper.deliveries(delivered, DELIVERIES)
        prefixes.append(DELIVERIES)
    sweeper.prune(prefixes)
    _log(sweeper.report, dry_run)
    return sweeper.report


def cleanup_delivery_root(
    storage: Storage, grace: timedelta, *, dry_run: bool = False, at: datetime | None = None
) -> CleanupReport:
    """Sweep a separate delivery root (``DELIVER_ROOT``: ``<customer>/<dataset>/``)."""
    if grace < timedelta(0):
        raise ValueError("grace period must not be negative")
    sweeper = _Sweeper(storage, at or now(), grace, dry_run)
    objects = list(storage.list("", include_temporary=True))
    sweeper.temps(objects)
    sweeper.deliveries(objects, "")
    sweeper.prune([""])
    _log(sweeper.report, dry_run)
    return sweeper.report


def _log(report: CleanupReport, dry_run: bool) -> None:
    log.info(
        "cleanup: %d uncommitted attempt folders, %d temporary files and %d incomplete "
        "deliveries %s, %d committed kept, %d too recent",
        len(report.removed),
        len(report.temp_files),
        len(report.incomplete_deliveries),
        "would be removed" if dry_run else "removed",
        report.committed_attempts,
        len(report.kept_recent),
        extra={
            "fields": {
                "removed_files": report.removed_files,
                "removed_bytes": report.removed_bytes,
                "unreadable_records": report.unreadable_records,
            }
        },
    )


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
    parser.add_argument(
        "--deliver-root",
        action="append",
        default=[],
        help="a separate delivery root (DELIVER_ROOT) to sweep too; repeatable",
    )
    parser.add_argument(
        "--no-spool", action="store_true", help="leave this machine's local spool alone"
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
        for root in args.deliver_root:
            cleanup_delivery_root(open_storage(root), args.grace, dry_run=args.dry_run)
        if not args.no_spool:
            orphan_grace = min(spool.ORPHAN_GRACE_S, args.grace.total_seconds())
            spool.sweep(dry_run=args.dry_run, orphan_grace_s=orphan_grace)
    except BPError as err:
        log.error("cleanup failed: %s", err.render())  # noqa: TRY400 - no traceback for callers
        sys.exit(int(err.exit_code))
    sys.exit(int(ExitCode.OK))
