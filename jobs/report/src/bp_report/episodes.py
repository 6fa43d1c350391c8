"""Episodes as the report sees them: one row per episode, and sample camera frames.

A run report reads every episode the run's episodes stage committed (``episodes/*.json``
of each committed shard, read through :class:`bp_contracts.episode.EpisodeRecord`:
successes and failures). A dataset report reads the dataset's
``meta/quality.json`` (what was exported). Frames come from the committed ``.npz`` of a
few episodes (first, middle and last frame of every camera), read through the commit
records that name them.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bp_contracts.episode import (
    EPISODE_SCHEMA,
    EpisodeRecord,
    episode_data_file,
    is_episode_file,
    problems_of,
)
from bp_dataset.layout import QUALITY
from bp_sdk.commit import CommittedUnit
from bp_sdk.errors import BPError
from bp_sdk.storage import Storage
from PIL import Image
from pydantic import ValidationError

from bp_report.collect import Snapshot

IMAGE_PREFIX = "observation.images."
MAX_CAMERAS = 8


@dataclass(frozen=True)
class EpisodeRow:
    """What the report plots about one episode."""

    episode_id: str
    source: str  # "scene/run"
    task_id: str
    success: bool
    quality: float | None
    duration_s: float | None
    frames: int | None
    collision_frames: int
    drops: int
    slips: int
    failure_reason: str | None
    data_file: str | None = None


@dataclass
class Frame:
    """One embedded camera frame."""

    episode_id: str
    camera: str
    index: int
    of: int
    png: bytes
    success: bool


@dataclass
class Episodes:
    """The rows, where they came from, and anything that could not be read."""

    origin: str  # "episodes" (what the run simulated) or "quality.json" (what was exported)
    rows: list[EpisodeRow] = field(default_factory=list)
    units: dict[str, list[CommittedUnit]] = field(default_factory=dict)  # source → shards
    problems: list[str] = field(default_factory=list)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: Any) -> int:
    n = _num(value)
    return int(n) if n is not None else 0


def row_of_record(record: EpisodeRecord, source: str) -> EpisodeRow:
    """An :class:`EpisodeRow` from an episode's record."""
    m = record.metrics
    frames = _num(m.frames) if m is not None and m.frames is not None else _num(record.frames)
    return EpisodeRow(
        episode_id=record.episode_id,
        source=source,
        task_id=record.task_id,
        success=record.success,
        quality=None if m is None else _num(m.quality_score),
        duration_s=None if m is None else _num(m.duration_s),
        frames=int(frames) if frames is not None else None,
        collision_frames=0 if m is None else _int(m.collision_frames),
        drops=0 if m is None else _int(m.drops),
        slips=0 if m is None else _int(m.slips),
        failure_reason=record.failure_reason or None,
        data_file=record.data_file,
    )


def row_of(meta: dict[str, Any], source: str) -> EpisodeRow:
    """An :class:`EpisodeRow` from a ``quality.json`` entry."""
    metrics = meta.get("metrics") if isinstance(meta.get("metrics"), dict) else {}
    assert isinstance(metrics, dict)  # noqa: S101 - narrowed above
    quality = _num(metrics.get("quality_score", meta.get("quality_score")))
    frames = _num(metrics.get("frames", meta.get("frames")))
    return EpisodeRow(
        episode_id=str(meta.get("episode_id", "?")),
        source=source,
        task_id=str(meta.get("task_id", "?")),
        success=meta.get("status") == "success",
        quality=quality,
        duration_s=_num(metrics.get("duration_s")),
        frames=int(frames) if frames is not None else None,
        collision_frames=_int(metrics.get("collision_frames")),
        drops=_int(metrics.get("drops")),
        slips=_int(metrics.get("slips")),
        failure_reason=str(meta["failure_reason"]) if meta.get("failure_reason") else None,
        data_file=str(meta["data_file"]) if meta.get("data_file") else None,
    )


def read_episodes(snap: Snapshot, storage: Storage) -> Episodes:
    """Rows for the report: the run's episodes, or the dataset's quality.json."""
    units: dict[str, list[CommittedUnit]] = {}
    for scene, run in snap.sources:
        view = snap.stage("episodes", f"{scene}/{run}")
        if view is not None:
            units[f"{scene}/{run}"] = [
                CommittedUnit(storage, u.record) for u in view.committed() if u.record
            ]
    if snap.scope == "dataset":
        found = _from_quality(snap, storage, units)
        if found is not None:
            return found
    eps = Episodes("episodes", units=units)
    for source, shards in units.items():
        for shard in shards:
            for name in sorted(shard.record.files):
                if not is_episode_file(name):
                    continue
                try:
                    record = EpisodeRecord.from_json(shard.read_bytes(name))
                except ValidationError as exc:
                    why = "; ".join(problems_of(exc, limit=3))
                    eps.problems.append(f"{source} {name}: does not match {EPISODE_SCHEMA}: {why}")
                    continue
                except (BPError, ValueError) as exc:
                    eps.problems.append(f"{source} {name}: {_why(exc)}")
                    continue
                eps.rows.append(row_of_record(record, source))
    eps.rows.sort(key=lambda r: (r.source, r.episode_id))
    return eps


def _from_quality(
    snap: Snapshot, storage: Storage, units: dict[str, list[CommittedUnit]]
) -> Episodes | None:
    view = snap.stage("export")
    export = view.units[0].record if view and view.units else None
    if export is None or QUALITY not in export.files:
        return None
    eps = Episodes("quality.json", units=units)
    try:
        quality = CommittedUnit(storage, export).read_json(QUALITY)
    except (BPError, ValueError) as exc:
        eps.problems.append(f"export {QUALITY}: {_why(exc)}")
        return eps
    for entry in quality.get("episodes", []) if isinstance(quality, dict) else []:
        if isinstance(entry, dict):
            source = f"{entry.get('scene_id')}/{entry.get('run_id')}"
            eps.rows.append(row_of(entry, source))
    eps.rows.sort(key=lambda r: (r.source, r.episode_id))
    return eps


def _why(exc: Exception) -> str:
    return exc.message if isinstance(exc, BPError) else f"{type(exc).__name__}: {exc}"


def sample_rows(rows: list[EpisodeRow], n: int) -> list[EpisodeRow]:
    """Up to ``n`` episodes to show frames of: a success first, then a failure, then others."""
    ok = [r for r in rows if r.success]
    bad = [r for r in rows if not r.success]
    picked: list[EpisodeRow] = []
    for group in (ok[:1], bad[:1], ok[1:], bad[1:]):
        for r in group:
            if len(picked) < n and r not in picked:
                picked.append(r)
    return picked


def sample_frames(eps: Episodes, n: int) -> list[Frame]:
    """First, middle and last frame of every camera of up to ``n`` episodes with data."""
    frames: list[Frame] = []
    candidates = [r for r in eps.rows if _unit_with(eps, r) is not None]
    for row in sample_rows(candidates, n):
        unit, name = _unit_with(eps, row) or (None, "")
        if unit is None:
            continue
        try:
            frames += _frames_of(row, unit.read_bytes(name))
        except (BPError, ValueError, OSError) as exc:
            eps.problems.append(f"frames of {row.episode_id}: {_why(exc)}")
    return frames


def _unit_with(eps: Episodes, row: EpisodeRow) -> tuple[CommittedUnit, str] | None:
    name = row.data_file or episode_data_file(row.episode_id)
    for unit in eps.units.get(row.source, []):
        if name in unit.record.files:
            return unit, name
    return None


def _frames_of(row: EpisodeRow, data: bytes) -> list[Frame]:
    out: list[Frame] = []
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        keys = sorted(k for k in z.files if k.startswith(IMAGE_PREFIX))[:MAX_CAMERAS]
        for key in keys:
            video = z[key]
            if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8 or not len(video):
                continue
            total = int(video.shape[0])
            for index in sorted({0, total // 2, total - 1}):
                out.append(
                    Frame(
                        row.episode_id,
                        key.removeprefix(IMAGE_PREFIX),
                        index,
                        total,
                        _png(video[index]),
                        row.success,
                    )
                )
    return out


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), "RGB").save(buf, "PNG", optimize=True)
    return buf.getvalue()


__all__ = [
    "EpisodeRow",
    "Episodes",
    "Frame",
    "read_episodes",
    "row_of",
    "row_of_record",
    "sample_frames",
]
