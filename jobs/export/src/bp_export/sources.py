"""Where a dataset's episodes come from: one scene run, or every run of a dataset spec.

Sources are resolved to committed ``episodes`` shards; every episode record is read
through its contract (:class:`bp_contracts.episode.EpisodeRecord`): a record that breaks
it is rejected with every field at fault, never exported. Every source must agree on the
recording (fps, resolution, cameras, tier, robot, physics step) or the export stops with
one error listing each disagreement. Episodes are then put in their dataset order:
train first, then valid (LeRobot splits are contiguous ``start:end`` ranges), each part
in source order, then by episode id; the split is stratified per task
(:mod:`bp_export.splits`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bp_contracts.assembly import ASSEMBLY_FILE, Assembly
from bp_contracts.episode import (
    EPISODE_SCHEMA,
    EpisodeRecord,
    Tier,
    episode_file,
    is_episode_file,
    problems_of,
)
from bp_dataset.features import Recording
from bp_dataset.spec import DatasetSource, DatasetSpec
from bp_sdk.commit import CommittedUnit, read_committed, require_committed
from bp_sdk.digest import sha256_json
from bp_sdk.errors import ConfigError, NotFoundError, PermanentError, Problem
from bp_sdk.storage import Storage
from pydantic import ValidationError


@dataclass
class ExportEpisode:
    """One accepted episode as export sees it (the interface the extras use).

    ``meta`` is the episode's record as the episodes stage wrote it (typed); ``arrays()``
    loads the episode's npz (``allow_pickle=False``) lazily and caches it until
    :meth:`release`.
    """

    dataset_index: int
    scene_id: str
    run_id: str
    episode_id: str
    task_index: int
    instruction: str
    success: bool
    meta: EpisodeRecord
    split: str
    loader: Callable[[], Mapping[str, np.ndarray]] | None = field(default=None, repr=False)
    _arrays: Mapping[str, np.ndarray] | None = field(default=None, repr=False)

    def arrays(self) -> Mapping[str, np.ndarray]:
        """The episode's streams (npz keys → arrays), loaded on first use."""
        if self._arrays is None:
            if self.loader is None:
                raise RuntimeError(f"episode {self.episode_id} has no data loader")
            self._arrays = self.loader()
        return self._arrays

    def release(self) -> None:
        """Drop the cached arrays (export holds one episode at a time)."""
        self._arrays = None

    @property
    def task_id(self) -> str:
        """The task's id in tasks.json."""
        return self.meta.task_id

    @property
    def quality_score(self) -> float | None:
        """The episode's quality score from its metrics, if any."""
        return None if self.meta.metrics is None else self.meta.metrics.quality_score


@dataclass(frozen=True)
class Candidate:
    """An episode found in a committed shard, before it is accepted into the dataset."""

    scene_id: str
    run_id: str
    episode_id: str
    meta: EpisodeRecord
    unit: CommittedUnit
    data_file: str | None  # npz name inside the shard, None when no data was kept

    @property
    def success(self) -> bool:
        """The episode's recorded status."""
        return self.meta.success

    @property
    def key(self) -> tuple[str, str, str]:
        """``(scene, run, episode id)``: the episode's identity in a dataset."""
        return (self.scene_id, self.run_id, self.episode_id)


@dataclass(frozen=True)
class SourceRun:
    """One resolved source: the committed shards of a scene run and its assembly."""

    scene_id: str
    run_id: str
    shards: list[CommittedUnit]
    assembly: Assembly

    @property
    def label(self) -> str:
        """``scene/run`` for messages."""
        return f"{self.scene_id}/{self.run_id}"


def resolve_sources(
    storage: Storage, default: DatasetSource, spec: DatasetSpec | None
) -> list[SourceRun]:
    """Committed episodes shards and assembly of each source (all problems at once)."""
    wanted = spec.sources if spec is not None else [default]
    problems: list[Problem] = []
    out: list[SourceRun] = []
    for src in wanted:
        where = f"{src.scene_id}/{src.run_id}"
        shards = read_committed(storage, src.scene_id, src.run_id, "episodes")
        if not shards:
            problems.append(
                Problem(
                    where,
                    "has no committed episodes stage (every shard must have committed)",
                    f"run `bp stage episodes --scene {src.scene_id}` with RUN_ID={src.run_id} first",
                )
            )
            continue
        try:
            assembly = require_committed(storage, src.scene_id, src.run_id, "assemble").read_model(
                ASSEMBLY_FILE, Assembly
            )
        except (PermanentError, NotFoundError) as exc:
            problems.append(Problem(where, f"assemble output unreadable: {exc.message}", ""))
            continue
        out.append(SourceRun(src.scene_id, src.run_id, shards, assembly))
    if problems:
        raise PermanentError(
            f"{len(problems)} of {len(wanted)} dataset sources are not ready",
            problems=problems,
            next_step="Run the missing stages for those scene runs, or remove them from the dataset spec.",
        )
    return out


def source_digests(sources: list[SourceRun]) -> dict[str, str]:
    """Inputs of the export: per source, the committed episodes shards and assembly."""
    out: dict[str, str] = {}
    for s in sources:
        out[f"episodes:{s.label}"] = sha256_json([u.record.outputs_digest for u in s.shards])
        out[f"assemble:{s.label}"] = hashlib.sha256(
            s.assembly.model_dump_json().encode()
        ).hexdigest()
    return out


def candidates(source: SourceRun) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """Every episode record committed by the source's shards, sorted by episode id; and
    the records that break the contract, as rejections (``{scene_id, run_id, episode_id,
    reason}``) naming every field at fault."""
    found: dict[str, Candidate] = {}
    malformed: dict[str, dict[str, Any]] = {}
    for unit in source.shards:
        for name in sorted(unit.record.files):
            if not is_episode_file(name):
                continue
            eid = name.rsplit("/", 1)[-1].removesuffix(".json")
            why = None
            try:
                meta = EpisodeRecord.from_json(unit.read_bytes(name))
            except ValueError as exc:  # not JSON, or a pydantic ValidationError
                why = _why(exc)
            else:
                if episode_file(meta.episode_id) != name:
                    why = f"it holds episode {meta.episode_id!r}"
            if why is not None:
                if eid in found or eid in malformed:
                    _twice(source, eid)
                malformed[eid] = {
                    "scene_id": source.scene_id,
                    "run_id": source.run_id,
                    "episode_id": eid,
                    "reason": f"{name} does not match {EPISODE_SCHEMA}: {why}",
                }
                continue
            if eid in found or eid in malformed:
                _twice(source, eid)
            data = meta.data_file if meta.kept else None
            found[eid] = Candidate(source.scene_id, source.run_id, eid, meta, unit, data)
    return [found[k] for k in sorted(found)], [malformed[k] for k in sorted(malformed)]


def _why(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(problems_of(exc))
    return f"not JSON ({exc})"


def _twice(source: SourceRun, eid: str) -> None:
    raise PermanentError(
        f"source {source.label}: episode {eid!r} is committed by two shards",
        next_step="Re-run the episodes stage of that run under a new RUN_ID.",
    )


def recording_of(sources: list[SourceRun], metas: list[tuple[str, EpisodeRecord]]) -> Recording:
    """The one recording every source shares, or a ConfigError listing the disagreements.

    ``metas`` is ``(source label, episode record)`` for at least one episode per source.
    """
    seen: dict[str, dict[str, set[str]]] = {}

    def note(what: str, value: Any, where: str) -> None:
        seen.setdefault(what, {}).setdefault(repr(value), set()).add(where)

    for s in sources:
        note("robot", s.assembly.robot.robot, s.label)
        note("physics timestep (s)", s.assembly.timestep_s, s.label)
    for label, meta in metas:
        note("fps", meta.fps, label)
        note("resolution", meta.resolution, label)
        note("cameras", tuple(sorted(meta.cameras)), label)
        for name, cam in sorted(meta.cameras.items()):
            note(f"camera {name} intrinsics", _rounded(cam.intrinsics), label)
        note("tier", meta.tier, label)
    problems = []
    for what, values in seen.items():
        if len(values) > 1:
            detail = "; ".join(f"{v} in {', '.join(sorted(w))}" for v, w in sorted(values.items()))
            problems.append(
                Problem(what, f"sources disagree: {detail}", "export runs that were recorded alike")
            )
    if problems:
        raise ConfigError(
            "the dataset's sources were not recorded alike",
            problems=problems,
            next_step="Split the dataset spec into groups recorded with the same settings.",
        )
    first = metas[0][1]  # tier, fps and resolution are checked by the record's contract
    cams = tuple(sorted(first.cameras))
    if not cams:
        raise PermanentError(
            "episodes were recorded without cameras; a LeRobot dataset needs video"
        )
    return Recording(
        fps=first.fps,
        resolution=first.resolution,
        cameras=cams,
        tier=first.tier,
        robot_type=sources[0].assembly.robot.robot,
    )


def _rounded(matrix: Any) -> Any:
    """A 3x3 intrinsics matrix rounded to 1e-6 (so float noise is no disagreement)."""
    try:
        return tuple(tuple(round(float(x), 6) for x in row) for row in matrix)
    except (TypeError, ValueError):
        return repr(matrix)


def check_tier(recorded: Tier, asked: Tier | None, spec_tier: Tier | None) -> Tier:
    """The tier to export: the recorded one, which any requested tier must equal exactly."""
    problems = []
    if asked is not None and asked != recorded:
        problems.append(
            Problem(
                "EXPORT_TIER",
                f"is {asked!r} but the episodes were recorded at tier {recorded!r}",
                f"set EXPORT_TIER={recorded} or record the episodes at tier {asked}",
            )
        )
    if spec_tier is not None and spec_tier != recorded:
        problems.append(
            Problem(
                "dataset spec tier",
                f"is {spec_tier!r} but the episodes were recorded at tier {recorded!r}",
                "fix the spec or record the episodes at that tier",
            )
        )
    if problems:
        raise ConfigError("the requested tier does not match the recording", problems=problems)
    return recorded


def finite_or_none(value: Any) -> bool:
    """True if a metric value is absent, a bool, a string, or a finite number."""
    if value is None or isinstance(value, bool | str):
        return True
    if isinstance(value, int | float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(finite_or_none(v) for v in value)
    if isinstance(value, dict):
        return all(finite_or_none(v) for v in value.values())
    return True
