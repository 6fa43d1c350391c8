"""Where a dataset's episodes come from: one scene run, or every run of a dataset spec.

Sources are resolved to committed ``episodes`` shards; every source must agree on the
recording (fps, resolution, cameras, tier, robot, physics step) or the export stops with
one error listing each disagreement. Episodes are then put in their dataset order:
train first, then valid (LeRobot splits are contiguous ``start:end`` ranges), each part
in source order, then by episode id. The split of an episode is a pure function of its
``(scene, run, episode id)`` hash, so the same episode lands in the same split in every
dataset it is part of.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from bp_dataset.features import TIERS, Recording, Tier
from bp_dataset.spec import DatasetSource, DatasetSpec
from bp_sdk.commit import CommittedUnit, read_committed, require_committed
from bp_sdk.digest import sha256_json
from bp_sdk.errors import ConfigError, NotFoundError, PermanentError, Problem
from bp_sdk.schemas import Assembly
from bp_sdk.storage import Storage

Split = Literal["train", "valid"]
SPLIT_SALT = "bp.split/v1"


@dataclass
class EpisodeRecord:
    """One recorded episode as export sees it (the interface the extras use).

    ``meta`` is the episode JSON written by the episodes stage; ``arrays()`` loads the
    episode's npz (``allow_pickle=False``) lazily and caches it until :meth:`release`.
    """

    dataset_index: int
    scene_id: str
    run_id: str
    episode_id: str
    task_index: int
    instruction: str
    success: bool
    meta: dict[str, Any]
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
        return str(self.meta.get("task_id", ""))

    @property
    def quality_score(self) -> float | None:
        """The episode's quality score from its metrics, if any."""
        value = (self.meta.get("metrics") or {}).get("quality_score")
        return None if value is None else float(value)


@dataclass(frozen=True)
class Candidate:
    """An episode found in a committed shard, before it is accepted into the dataset."""

    scene_id: str
    run_id: str
    episode_id: str
    meta: dict[str, Any]
    unit: CommittedUnit
    data_file: str | None  # npz name inside the shard, None when no data was kept

    @property
    def success(self) -> bool:
        """The episode's recorded status."""
        return self.meta.get("status") == "success"

    def split(self, valid_fraction: float) -> Split:
        """``valid`` when the episode's hash falls below the fraction, else ``train``."""
        return split_of(self.scene_id, self.run_id, self.episode_id, valid_fraction)


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


def split_of(scene_id: str, run_id: str, episode_id: str, valid_fraction: float) -> Split:
    """Deterministic split: sha256 of the episode's identity as a number in [0, 1)."""
    if valid_fraction <= 0:
        return "train"
    h = hashlib.sha256(f"{SPLIT_SALT}\0{scene_id}\0{run_id}\0{episode_id}".encode()).digest()
    u = int.from_bytes(h[:8], "big") / 2**64
    return "valid" if u < valid_fraction else "train"


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
                "assembly.json", Assembly
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


def candidates(source: SourceRun) -> list[Candidate]:
    """Every episode JSON committed by the source's shards, sorted by episode id."""
    found: dict[str, Candidate] = {}
    for unit in source.shards:
        for name in sorted(unit.record.files):
            if not (name.startswith("episodes/") and name.endswith(".json")):
                continue
            meta = unit.read_json(name)
            eid = str(meta.get("episode_id", ""))
            if not eid or eid in found:
                raise PermanentError(
                    f"source {source.label}: episode {eid or name!r} is missing an id or is "
                    "committed by two shards",
                    next_step="Re-run the episodes stage of that run under a new RUN_ID.",
                )
            data = meta.get("data_file") if meta.get("kept") else None
            found[eid] = Candidate(
                source.scene_id, source.run_id, eid, meta, unit, str(data) if data else None
            )
    return [found[k] for k in sorted(found)]


def recording_of(sources: list[SourceRun], metas: list[tuple[str, dict[str, Any]]]) -> Recording:
    """The one recording every source shares, or a ConfigError listing the disagreements.

    ``metas`` is ``(source label, episode json)`` for at least one episode per source.
    """
    seen: dict[str, dict[str, set[str]]] = {}

    def note(what: str, value: Any, where: str) -> None:
        seen.setdefault(what, {}).setdefault(repr(value), set()).add(where)

    for s in sources:
        note("robot", s.assembly.robot.robot, s.label)
        note("physics timestep (s)", s.assembly.timestep_s, s.label)
    for label, meta in metas:
        note("fps", meta.get("fps"), label)
        note("resolution", meta.get("resolution"), label)
        cams = meta.get("cameras") or {}
        note("cameras", tuple(sorted(cams)), label)
        for name, cam in sorted(cams.items()):
            k = cam.get("intrinsics") if isinstance(cam, dict) else None
            note(f"camera {name} intrinsics", _rounded(k), label)
        note("tier", meta.get("tier"), label)
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
    first = metas[0][1]
    tier = first.get("tier")
    if tier not in TIERS:
        raise PermanentError(
            f"episodes were recorded with unknown tier {tier!r}; expected one of {TIERS}"
        )
    fps, res = first.get("fps"), first.get("resolution")
    if not isinstance(fps, int) or not isinstance(res, int) or fps <= 0 or res <= 0:
        raise PermanentError(f"episode JSON has an invalid fps/resolution: {fps!r}/{res!r}")
    cams = tuple(sorted((first.get("cameras") or {}).keys()))
    if not cams:
        raise PermanentError(
            "episodes were recorded without cameras; a LeRobot dataset needs video"
        )
    tier_t: Tier = tier
    return Recording(
        fps=fps,
        resolution=res,
        cameras=cams,
        tier=tier_t,
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
