"""Dataset metrics for the thresholds, recomputed from the data and cross-checked.

``meta/quality.json`` carries what only the simulation measured (collision frames,
quality scores, variants, rejections); everything the data also holds (which episodes
exist, their success on the last frame, lengths, tasks, ids, quality scores in the
episode table) must agree with it, or the ``quality_report`` integrity check fails and
no threshold is trusted. The rates are recomputed here, never copied from its summary
(whose own numbers are checked against its episode list).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bp_dataset.data_scan import DataScan
from bp_dataset.layout import QUALITY
from bp_dataset.report import Problems
from bp_dataset.tables import Meta

SCORE_TOLERANCE = 1e-5


@dataclass
class Metrics:
    """The values the thresholds are compared with (None: could not be computed)."""

    success_rate: float | None = None
    collision_rate: float | None = None
    mean_quality_score: float | None = None
    episodes_per_task: int | None = None
    distinct_instructions: int | None = None
    distinct_variants: int | None = None
    rejected_fraction: float | None = None
    initial_state_spread: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def compute(meta: Meta, scan: DataScan | None, quality: Any, problems: Problems) -> Metrics:
    """Cross-check ``quality`` against the data; compute every metric that can be."""
    out = Metrics()
    eps = meta.episodes
    if meta.info is None or eps is None or scan is None:
        problems.add(
            f"{QUALITY}: not cross-checked: the dataset's tables are unreadable (see schema)"
        )
        return out
    n = len(eps)
    success = [scan.last_success.get(e) for e in range(n)]
    tasks = meta.tasks or []
    out.distinct_instructions = len(tasks)
    per_task = dict.fromkeys(tasks, 0)
    for e in range(n):
        if success[e]:
            for t in eps.tasks[e]:
                per_task[t] = per_task.get(t, 0) + 1
    out.episodes_per_task = min(per_task.values()) if per_task else 0
    out.detail["successful_episodes_per_task"] = per_task
    if not isinstance(quality, dict) or not isinstance(quality.get("episodes"), list):
        problems.add(f"{QUALITY}: missing or not a quality report (no 'episodes' list)")
        return out
    q_eps = [q for q in quality["episodes"] if isinstance(q, dict)]
    rejected = quality.get("rejected") if isinstance(quality.get("rejected"), list) else None
    excluded = quality.get("excluded", [])
    if rejected is None or not isinstance(excluded, list):
        problems.add(f"{QUALITY}: 'rejected' and 'excluded' must be lists")
        return out
    by_index = _index(q_eps, n, problems)
    _cross_check(by_index, eps.extra, success, eps.length, eps.tasks, problems)
    scores = [_num(by_index[e].get("quality_score")) if e in by_index else None for e in range(n)]
    collided = [
        (_num((by_index[e].get("metrics") or {}).get("collision_frames")) or 0) > 0
        for e in range(n)
        if e in by_index
    ]
    if n and len(by_index) == n:
        valid_scores = [s for s in scores if s is not None]
        if len(valid_scores) == n:
            out.mean_quality_score = round(sum(valid_scores) / n, 6)
        else:
            problems.add(
                f"{QUALITY}: {n - len(valid_scores)} exported episodes have no finite quality_score"
            )
        out.collision_rate = round(sum(collided) / n, 6)
        out.distinct_variants = len(
            {(q.get("scene_id"), q.get("run_id"), q.get("variant_id")) for q in by_index.values()}
        )
    recorded = n + len(rejected) + len(excluded)
    successes = sum(1 for s in success if s)
    out.success_rate = round(successes / recorded, 6) if recorded else None
    out.rejected_fraction = (
        round(len(rejected) / (n + len(rejected)), 6) if n + len(rejected) else None
    )
    out.detail.update(
        exported=n,
        successes=successes,
        rejected=len(rejected),
        excluded=len(excluded),
        recorded=recorded,
    )
    _check_summary(quality.get("summary"), n, successes, out, problems)
    return out


def _index(q_eps: list[dict[str, Any]], n: int, problems: Problems) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for q in q_eps:
        i = q.get("dataset_index")
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n or i in out:
            problems.add(
                f"{QUALITY}: episode entry with dataset_index {i!r} is out of range or repeated"
            )
            continue
        out[i] = q
    if len(q_eps) != n:
        problems.add(f"{QUALITY}: lists {len(q_eps)} exported episodes, the dataset has {n}")
    missing = sorted(set(range(n)) - set(out))
    if missing:
        problems.add(f"{QUALITY}: has no entry for dataset episodes {missing[:20]}")
    return out


def _cross_check(
    by_index: dict[int, dict[str, Any]],
    extra: dict[str, list[Any]],
    success: list[bool | None],
    length: list[int],
    tasks: list[list[str]],
    problems: Problems,
) -> None:
    wrong: dict[str, list[int]] = {}
    for e, q in sorted(by_index.items()):
        if bool(q.get("success")) != bool(success[e]):
            wrong.setdefault("success (vs next.success on the last frame)", []).append(e)
        if q.get("frames") != length[e]:
            wrong.setdefault("frames (vs the episode's length)", []).append(e)
        if q.get("instruction") not in tasks[e]:
            wrong.setdefault("instruction (vs the episode's tasks)", []).append(e)
        for col in ("episode_id", "scene_id", "run_id"):
            if col in extra and extra[col][e] != q.get(col):
                wrong.setdefault(f"{col} (vs meta/episodes)", []).append(e)
        if "quality_score" in extra:
            a, b = _num(extra["quality_score"][e]), _num(q.get("quality_score"))
            if a is None or b is None or abs(a - b) > SCORE_TOLERANCE:
                wrong.setdefault("quality_score (vs meta/episodes)", []).append(e)
    for what, eps in wrong.items():
        problems.add(f"{QUALITY}: {what} disagrees with the data for episodes {eps[:20]}")


def _check_summary(summary: Any, n: int, successes: int, m: Metrics, problems: Problems) -> None:
    """The summary's own numbers must be what its episode list says."""
    if not isinstance(summary, dict):
        problems.add(f"{QUALITY}: 'summary' is missing")
        return
    want = {
        "episodes": n,
        "successes": successes,
        "collision_rate": m.collision_rate,
        "mean_quality": m.mean_quality_score,
    }
    for key, value in want.items():
        got = summary.get(key)
        if value is None:
            continue
        if isinstance(value, float):
            g = _num(got)
            if g is None or abs(g - value) > SCORE_TOLERANCE:
                problems.add(f"{QUALITY}: summary.{key} is {got!r}, its episodes give {value}")
        elif got != value:
            problems.add(f"{QUALITY}: summary.{key} is {got!r}, the data gives {value}")
