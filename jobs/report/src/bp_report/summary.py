"""The numbers behind the episode sections: success per task, quality, durations, contacts."""

from __future__ import annotations

import statistics
from typing import Any

from bp_report.episodes import EpisodeRow


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "mean": None, "median": None, "min": None, "max": None}
    return {
        "count": len(values),
        "mean": round(statistics.fmean(values), 6),
        "median": round(statistics.median(values), 6),
        "min": round(min(values), 6),
        "max": round(max(values), 6),
    }


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


def per_task(rows: list[EpisodeRow]) -> dict[str, dict[str, Any]]:
    """Episodes, successes, success rate and mean quality of every task."""
    tasks: dict[str, list[EpisodeRow]] = {}
    for r in rows:
        tasks.setdefault(r.task_id, []).append(r)
    out = {}
    for task, group in sorted(tasks.items()):
        ok = sum(r.success for r in group)
        q = [r.quality for r in group if r.quality is not None]
        out[task] = {
            "episodes": len(group),
            "successes": ok,
            "success_rate": _rate(ok, len(group)),
            "mean_quality": round(statistics.fmean(q), 6) if q else None,
        }
    return out


def episode_summary(rows: list[EpisodeRow]) -> dict[str, Any]:
    """Everything report.json says about the episodes."""
    ok = sum(r.success for r in rows)
    durations = [r.duration_s for r in rows if r.duration_s is not None]
    return {
        "episodes": len(rows),
        "successes": ok,
        "failures": len(rows) - ok,
        "success_rate": _rate(ok, len(rows)),
        "per_task": per_task(rows),
        "quality": _stats([r.quality for r in rows if r.quality is not None]),
        "duration_s": {**_stats(durations), "total": round(sum(durations), 6)},
        "collisions": {
            "episodes_with_collisions": sum(r.collision_frames > 0 for r in rows),
            "collision_frames": sum(r.collision_frames for r in rows),
        },
        "drops": {
            "episodes_with_drops": sum(r.drops > 0 for r in rows),
            "drops": sum(r.drops for r in rows),
        },
        "slips": {
            "episodes_with_slips": sum(r.slips > 0 for r in rows),
            "slips": sum(r.slips for r in rows),
        },
        "failure_reasons": _reasons(rows),
    }


def _reasons(rows: list[EpisodeRow]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        if not r.success:
            key = (r.failure_reason or "unknown").split(":")[0][:80]
            out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


__all__ = ["episode_summary", "per_task"]
