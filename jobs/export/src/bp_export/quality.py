"""``meta/quality.json``: per-episode metrics and a dataset summary the gate and labs read.

Per episode: every metric the episodes stage measured (success, time to success,
collision frames and pairs, penetration, joint-limit and velocity violations, path
length, jerk, slips, drops, IK error, frame counts, quality score, failure reason) plus
its identity, task, split and the dataset index it was exported under.

Summary: counts (episodes, frames, per split, successes, failures, rejected), success
rate, collision rate (share of episodes with any robot–environment collision frame) and
collision-frame rate, quality score mean/min/max, per-task counts, success rates and mean
quality, diversity (distinct scenes, variants, objects, tasks, instructions, and the
initial-state spread of repeated episodes: ``diversity.initial_state``) and every
rejected episode with its reason (plus counts by reason).

Everything is plain JSON without NaN or infinity (an undefined mean is ``null``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final

from bp_contracts.episode import InitialStateRecord
from bp_sdk.errors import PermanentError, Problem

from bp_export.sources import ExportEpisode

QUALITY_SCHEMA: Final = "bp.quality/v1"


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 6) if values else None


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


def _episode(rec: ExportEpisode) -> dict[str, Any]:
    meta = rec.meta
    metrics: dict[str, Any] = meta.metrics.as_dict() if meta.metrics is not None else {}
    frames = metrics.get("frames", meta.frames)
    return {
        "dataset_index": rec.dataset_index,
        "episode_id": rec.episode_id,
        "scene_id": rec.scene_id,
        "run_id": rec.run_id,
        "variant_id": meta.variant_id,
        "task_id": meta.task_id,
        "task_kind": meta.task_kind,
        "task_index": rec.task_index,
        "object": meta.object,
        "instruction": rec.instruction,
        "split": rec.split,
        "success": rec.success,
        "status": meta.status,
        "quality_score": metrics.get("quality_score"),
        "frames": frames,
        "failure_reason": meta.failure_reason or metrics.get("failure_reason"),
        "seed": meta.seed,
        "initial_state": _initial_state(meta.initial_state),
        "metrics": metrics,
    }


def _initial_state(init: InitialStateRecord | None) -> dict[str, Any] | None:
    """The episode's initial-state record in brief (the full state is in initial_states)."""
    if init is None:
        return None
    return {
        "seed": init.seed,
        "moved": len(init.moved),
        "kept": dict(init.kept),
        "perturbation": None if init.perturbation is None else init.perturbation.model_dump(),
    }


def _rejection(item: Mapping[str, Any], i: int) -> tuple[dict[str, Any], list[Problem]]:
    problems = []
    eid, reason = item.get("episode_id"), item.get("reason")
    if not isinstance(eid, str) or not eid:
        problems.append(
            Problem(f"rejected[{i}].episode_id", f"must be a non-empty string, got {eid!r}")
        )
    if not isinstance(reason, str) or not reason.strip():
        problems.append(
            Problem(
                f"rejected[{i}].reason",
                "every rejected episode needs its reason",
                "say why it was rejected",
            )
        )
    out = {
        "episode_id": eid,
        "scene_id": item.get("scene_id"),
        "run_id": item.get("run_id"),
        "task_id": item.get("task_id"),
        "reason": reason,
    }
    return out, problems


def build_quality(
    records_meta: Sequence[ExportEpisode],
    rejected: Sequence[Mapping[str, Any]],
    initial_state: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The quality document for the exported episodes and the ones export rejected;
    ``initial_state`` is the initial-state spread (``bp_dataset.stats.initial_state_spread``
    of the rows written to ``meta/initial_states.parquet``).

    ``rejected`` items are ``{"episode_id", "reason", "scene_id"?, "run_id"?, "task_id"?}``.
    An exported episode without a finite quality score, a rejection without a reason, or a
    non-finite metric is an error (all listed at once).
    """
    episodes = [_episode(r) for r in sorted(records_meta, key=lambda r: r.dataset_index)]
    problems = _episode_problems(episodes)
    rej: list[dict[str, Any]] = []
    for i, item in enumerate(rejected):
        r, p = _rejection(item, i)
        rej.append(r)
        problems += p
    if problems:
        raise PermanentError("quality report cannot be built", problems=problems)
    return {
        "schema": QUALITY_SCHEMA,
        "summary": _summary(episodes, rej, initial_state),
        "episodes": episodes,
        "rejected": rej,
    }


def _episode_problems(episodes: Sequence[Mapping[str, Any]]) -> list[Problem]:
    """Dataset indices used twice, non-finite scores or metrics, and unknown splits."""
    problems: list[Problem] = []
    indices = [e["dataset_index"] for e in episodes]
    if len(set(indices)) != len(indices):
        dup = sorted(i for i, n in Counter(indices).items() if n > 1)
        problems.append(Problem("episodes", f"dataset indices used twice: {dup[:20]}"))
    for e in episodes:
        where = f"episode {e['episode_id']}"
        q = e["quality_score"]
        if isinstance(q, bool) or not isinstance(q, int | float) or not math.isfinite(q):
            problems.append(Problem(where, f"quality_score must be a finite number, got {q!r}"))
        if not _finite(e["metrics"]):
            problems.append(Problem(where, "has a non-finite metric (NaN or inf)"))
        if e["split"] not in ("train", "valid"):
            problems.append(Problem(where, f"split must be train or valid, got {e['split']!r}"))
    return problems


def _per_task(episodes: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per task (its id, else its instruction): index, kind, instructions, counts, rates."""
    per_task: dict[str, dict[str, Any]] = {}
    for e in episodes:
        key = str(e["task_id"] if e["task_id"] is not None else e["instruction"])
        t = per_task.setdefault(
            key,
            {
                "task_index": e["task_index"],
                "task_kind": e["task_kind"],
                "instructions": [],
                "episodes": 0,
                "successes": 0,
                "_q": [],
            },
        )
        t["episodes"] += 1
        t["successes"] += int(e["success"])
        t["_q"].append(float(e["quality_score"]))
        if e["instruction"] not in t["instructions"]:
            t["instructions"].append(e["instruction"])
    for t in per_task.values():
        t["success_rate"] = _rate(t["successes"], t["episodes"])
        t["mean_quality"] = _mean(t.pop("_q"))
    return per_task


def _summary(
    episodes: Sequence[Mapping[str, Any]],
    rej: Sequence[Mapping[str, Any]],
    initial_state: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The dataset summary: counts, rates, quality, per task, diversity and rejections."""
    n = len(episodes)
    successes = sum(1 for e in episodes if e["success"])
    frames = sum(int(e["frames"] or 0) for e in episodes)
    collided = sum(1 for e in episodes if int(e["metrics"].get("collision_frames") or 0) > 0)
    collision_frames = sum(int(e["metrics"].get("collision_frames") or 0) for e in episodes)
    scores = [float(e["quality_score"]) for e in episodes]
    per_task = _per_task(episodes)
    reasons = Counter(str(r["reason"]) for r in rej)
    splits = Counter(e["split"] for e in episodes)
    return {
        "episodes": n,
        "frames": frames,
        "train_episodes": splits.get("train", 0),
        "valid_episodes": splits.get("valid", 0),
        "successes": successes,
        "failures": n - successes,
        "success_rate": _rate(successes, n),
        "collision_rate": _rate(collided, n),
        "collision_frame_rate": _rate(collision_frames, frames),
        "mean_quality": _mean(scores),
        "min_quality": round(min(scores), 6) if scores else None,
        "max_quality": round(max(scores), 6) if scores else None,
        "tasks": len(per_task),
        "per_task": dict(sorted(per_task.items())),
        "diversity": _diversity(episodes, len(per_task), initial_state),
        "rejected": len(rej),
        "rejected_by_reason": dict(sorted(reasons.items())),
    }


def _diversity(
    episodes: Sequence[Mapping[str, Any]], tasks: int, initial_state: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Distinct scenes, variants, objects, tasks and instructions; the initial-state spread."""
    return {
        "scenes": len({e["scene_id"] for e in episodes}),
        "variants": len({(e["scene_id"], e["run_id"], e["variant_id"]) for e in episodes}),
        "objects": len({(e["scene_id"], e["object"]) for e in episodes if e["object"]}),
        "tasks": tasks,
        "instructions": len({e["instruction"] for e in episodes}),
        "initial_state": dict(initial_state) if initial_state is not None else None,
    }
