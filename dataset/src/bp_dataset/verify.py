"""What a lab runs on what it received: every check of a delivered dataset, in one report.

``verify_dataset(root)`` runs, over a :class:`~bp_dataset.root.DatasetRoot` (a local folder,
``file://`` or ``gs://``), the checks of :mod:`bp_dataset.report`:

* **checksums**: every file of ``meta/SHA256SUMS`` present with its sha256, no unlisted
  file (hashed in parallel threads, streamed);
* **schema**: info.json through :class:`~bp_dataset.info.Info`, codebase v3.0, features
  equal to the ones :func:`bp_dataset.features.features` builds, data columns equal to
  the non-video features with their types, tasks and episodes tables, contiguous
  indices, splits covering every episode once;
* **tier**: the content matches the declared tier exactly (lossless streams present for
  plus/full and absent for core; failure rollouts only in full);
* **frames**: every video decodes with PyAV; frames per episode equal its length and
  frame k is shown at ``from_timestamp + k/fps`` within 1e-4 s;
* **values**: every number finite (rewards included), quaternions of unit norm,
  ``next.done`` on last frames only, actions within ranges where the dataset declares them;
* **delivery** (a delivered folder only) and **digest** (a pinned digest only): see
  :func:`bp_dataset.delivery.delivery_checks`.

Every check collects all its problems, each naming the file; a check that cannot run
(because what it reads is broken) fails. Nothing here raises on a bad dataset.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bp_sdk.errors import BPError, Terminated

from bp_dataset import decode
from bp_dataset.checksum_check import Progress, check_checksums, default_workers
from bp_dataset.data_scan import DataScan, Ranges, scan_data
from bp_dataset.delivery import delivery_checks
from bp_dataset.lossless import check_lossless
from bp_dataset.report import (
    FRAMES,
    SCHEMA,
    TIER,
    VALUES,
    CheckResult,
    Problems,
    VerifyReport,
)
from bp_dataset.root import DatasetRoot
from bp_dataset.tables import Meta, load_meta

VIDEO_DIR = "videos"
SUCCESS_FLAG = "success"  # meta/episodes column flagging each episode success or failure rollout


@dataclass
class Verification:
    """The report plus what the checks read (the gate derives its metrics from them)."""

    report: VerifyReport
    meta: Meta = field(default_factory=Meta)
    scan: DataScan | None = None


def verify_dataset(
    root: DatasetRoot,
    *,
    checksums_only: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    delivery: bool = False,
    digest: str | None = None,
) -> VerifyReport:
    """Run every check (or only the checksums) and return the report. ``delivery``: the
    folder must be a delivery; ``digest``: the dataset digest it must have."""
    return run_checks(
        root,
        checksums_only=checksums_only,
        workers=workers,
        progress=progress,
        delivery=delivery,
        digest=digest,
    ).report


def run_checks(
    root: DatasetRoot,
    *,
    checksums_only: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    delivery: bool = False,
    digest: str | None = None,
) -> Verification:
    """Every check, with the metadata and data scan they read."""
    cs = check_checksums(root, workers, progress)
    checks = [cs.result, *delivery_checks(root, cs.digest, required=delivery, pinned=digest)]
    meta, scan = Meta(), None
    if not checksums_only:
        content, meta, scan = verify_content(root, workers=workers, progress=progress)
        checks += content
    report = VerifyReport(
        target=root.label, dataset_digest=cs.digest, checks=checks, file_digests=cs.digests
    )
    return Verification(report, meta, scan)


def verify_content(
    root: DatasetRoot, *, workers: int | None = None, progress: Progress | None = None
) -> tuple[list[CheckResult], Meta, DataScan | None]:
    """The schema, tier, frames and values checks (everything but checksums)."""
    schema, values = Problems(), Problems()
    meta, scan = Meta(), None
    try:
        meta = load_meta(root, schema)
        if meta.info is not None and meta.episodes is not None:
            scan = scan_data(root, meta, schema, values, declared_ranges(meta), progress)
        out = [_schema_result(meta, schema, scan)]
    except Terminated:
        raise
    except Exception as exc:  # noqa: BLE001 - damaged input must fail a check, never crash
        out = [_stopped(SCHEMA, exc)]
        meta, scan = Meta(), None
    steps: list[tuple[str, Callable[[], CheckResult]]] = [
        (TIER, lambda: _tier_result(root, meta, scan, values)),
        (FRAMES, lambda: check_frames(root, meta, workers, progress)),
        (VALUES, lambda: _values_result(meta, scan, values)),
    ]
    for name, run in steps:
        try:
            out.append(run())
        except Terminated:
            raise
        except Exception as exc:  # noqa: BLE001 - damaged input must fail a check, never crash
            out.append(_stopped(name, exc))
    return out, meta, scan


def _stopped(name: str, exc: Exception) -> CheckResult:
    """A check that an unexpected error stopped has failed (the error is named)."""
    return CheckResult.not_run(name, f"stopped by {type(exc).__name__}: {str(exc)[:160]}")


def declared_ranges(meta: Meta) -> Ranges:
    """Per-dimension ranges a dataset declares for its vectors (``ranges`` of a feature in
    info.json, one ``[lo, hi]`` or null per dimension); none declared, none checked."""
    if meta.info is None:
        return {}
    out: Ranges = {}
    for key, feat in meta.info.features.items():
        rng = feat.get("ranges")
        if isinstance(rng, list) and len(rng) == int((feat.get("shape") or [0])[0]):
            out[key] = [
                (float(r[0]), float(r[1])) if isinstance(r, list) and len(r) == 2 else None
                for r in rng
            ]
    return out


def _schema_result(meta: Meta, problems: Problems, scan: DataScan | None) -> CheckResult:
    info = meta.info
    value: dict[str, Any] = {
        "codebase_version": (meta.info_raw or {}).get("codebase_version"),
        "episodes": len(meta.episodes) if meta.episodes is not None else None,
        "frames": scan.rows if scan else None,
        "tasks": len(meta.tasks) if meta.tasks is not None else None,
        "data_files": scan.files if scan else None,
    }
    summary = (
        f"v3.0, {value['episodes']} episodes, {value['frames']} frames, {value['tasks']} tasks"
        if info is not None
        else "info.json unreadable"
    )
    return CheckResult.from_problems(SCHEMA, problems, value, summary)


def _tier_result(
    root: DatasetRoot, meta: Meta, scan: DataScan | None, values: Problems
) -> CheckResult:
    if meta.info is None:
        return CheckResult.not_run(TIER, "meta/info.json is missing or invalid (see schema)")
    problems = Problems()
    tier = meta.info.blueprintpipeline.tier
    lossless = check_lossless(root, meta, problems, values)
    failures: list[int] = []
    if scan is not None and meta.episodes is not None:
        failures = sorted(e for e, ok in scan.last_success.items() if not ok)
        if failures and tier != "full":
            problems.add(
                f"meta/episodes: episodes {failures[:20]} are failure rollouts (next.success is "
                f"false on their last frame); tier {tier!r} keeps successes only (failures: full)"
            )
        flags = meta.episodes.extra.get(SUCCESS_FLAG)
        if flags is not None:
            wrong = [
                e
                for e, ok in sorted(scan.last_success.items())
                if e < len(flags) and bool(flags[e]) != ok
            ]
            if wrong:
                problems.add(
                    f"meta/episodes: episodes {wrong[:20]} are flagged {SUCCESS_FLAG!r} unlike their "
                    "data (next.success on the last frame): failure rollouts must be flagged"
                )
        elif tier == "full":
            problems.add(
                f"meta/episodes: column {SUCCESS_FLAG!r} (the failure-rollout flag) is missing"
            )
    value = {"tier": tier, "lossless_files": lossless, "failure_rollouts": len(failures)}
    summary = f"tier {tier}: {lossless} lossless files, {len(failures)} failure rollouts"
    return CheckResult.from_problems(TIER, problems, value, summary)


def _values_result(meta: Meta, scan: DataScan | None, problems: Problems) -> CheckResult:
    if scan is None:
        return CheckResult.not_run(VALUES, "the data tables could not be read (see schema)")
    value = {
        "non_finite": scan.nonfinite,
        "bad_quaternions": scan.bad_quaternions,
        "out_of_range": scan.out_of_range,
        "ranges_checked": scan.ranges_checked,
    }
    ranges = ", ".join(scan.ranges_checked) or "none declared"
    summary = f"{scan.rows} frames: finite, unit quaternions; ranges: {ranges}"
    return CheckResult.from_problems(VALUES, problems, value, summary)


def check_frames(
    root: DatasetRoot, meta: Meta, workers: int | None = None, progress: Progress | None = None
) -> CheckResult:
    """Decode every video file; check each episode's frame count and frame times."""
    info, episodes = meta.info, meta.episodes
    if info is None or episodes is None:
        return CheckResult.not_run(FRAMES, "info.json or meta/episodes is unreadable (see schema)")
    problems = Problems()
    jobs: list[tuple[str, list[decode.VideoSpan], dict[str, object]]] = []
    present = {f.path for f in root.under(VIDEO_DIR)}
    referenced: set[str] = set()
    for key in info.video_keys():
        vinfo = info.features[key].get("info", {})
        expect: dict[str, object] = {
            "fps": info.fps,
            "codec": vinfo.get("video.codec"),
            "pix_fmt": vinfo.get("video.pix_fmt"),
            "width": vinfo.get("video.width"),
            "height": vinfo.get("video.height"),
        }
        spans: dict[str, list[decode.VideoSpan]] = defaultdict(list)
        for e, ref in enumerate(episodes.videos.get(key, [])):
            spans[ref.path].append(
                decode.VideoSpan(e, episodes.length[e], ref.from_timestamp, ref.to_timestamp)
            )
        for path in sorted(spans):
            referenced.add(path)
            if path not in present:
                eps = [s.episode_index for s in spans[path]]
                problems.add(f"{path}: missing (holds episodes {eps[:20]} of {key})")
                continue
            jobs.append((path, spans[path], expect))
    for path in sorted(present - referenced):
        problems.add(f"{path}: video file that no episode refers to")
    total = sum(sum(s.length for s in spans) for _, spans, _ in jobs)
    decoded = 0

    def one(job: tuple[str, list[decode.VideoSpan], dict[str, object]]) -> tuple[int, list[str]]:
        path, spans, expect = job
        try:
            with root.open(path) as stream:
                return decode.decode_and_check(path, stream, spans, info.fps, expect)
        except BPError as exc:
            return 0, [f"{path}: cannot be read ({str(exc.message)[:160]})"]

    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        for frames, found in pool.map(one, jobs):
            problems.extend(found)
            decoded += frames
            if progress is not None:
                progress(FRAMES, decoded, total)
    value = {"video_files": len(jobs), "frames_decoded": decoded, "frames_expected": total}
    summary = f"{len(jobs)} video files, {decoded}/{total} frames decoded"
    return CheckResult.from_problems(FRAMES, problems, value, summary)
