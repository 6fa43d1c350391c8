"""Per-episode metrics, computed from the simulation itself, and the composite quality score.

Quality score (0–1), documented in docs/EPISODES.md:
  0.50 × success
+ 0.15 × (1 − min(robot–environment collision frames / 10, 1))
+ 0.10 × penetration score (1 below 2 mm, 0 at 10 mm or more, linear between)
+ 0.10 × smoothness (1 / (1 + RMS jerk / 50 m/s³))
+ 0.10 × (no joint-limit or velocity violations)
+ 0.05 × (no slip or drop)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bp_episodes.backend import MujocoBatch, SimBatch

F64 = NDArray[np.float64]
JERK_SCALE = 50.0


@dataclass
class EpisodeMetrics:
    """What happened in one episode (all from the simulation)."""

    success: bool = False
    time_to_success_s: float | None = None
    duration_s: float = 0.0
    frames: int = 0
    frame_counts: dict[str, int] = field(default_factory=dict)
    collision_frames: int = 0
    collision_pairs: list[str] = field(default_factory=list)
    max_penetration_m: float = 0.0
    joint_limit_violations: int = 0
    velocity_violations: int = 0
    path_length_m: float = 0.0
    rms_jerk_m_s3: float = 0.0
    slips: int = 0
    drops: int = 0
    nonfinite: bool = False
    ik_max_error_m: float = 0.0
    quality_score: float = 0.0
    failure_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict with rounded floats."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, float):
                out[k] = round(v, 6)
        return out


def path_and_jerk(ee: F64, dt: float) -> tuple[float, float]:
    """End-effector path length and RMS jerk from positions sampled every ``dt``."""
    if len(ee) < 2:
        return 0.0, 0.0
    length = float(np.linalg.norm(np.diff(ee, axis=0), axis=1).sum())
    if len(ee) < 4:
        return length, 0.0
    jerk = np.diff(ee, n=3, axis=0) / dt**3
    return length, float(np.sqrt(np.mean(np.sum(jerk**2, axis=1))))


def quality(m: EpisodeMetrics) -> float:
    """The composite score described in the module docstring."""
    pen = (
        1.0 if m.max_penetration_m < 0.002 else max(0.0, 1 - (m.max_penetration_m - 0.002) / 0.008)
    )
    score = (
        0.50 * m.success
        + 0.15 * (1 - min(m.collision_frames / 10, 1.0))
        + 0.10 * pen
        + 0.10 * (1 / (1 + m.rms_jerk_m_s3 / JERK_SCALE))
        + 0.10 * (m.joint_limit_violations == 0 and m.velocity_violations == 0)
        + 0.05 * (m.slips == 0 and m.drops == 0)
    )
    return 0.0 if m.nonfinite or math.isnan(score) else round(score, 6)


def contact_arrays(batch: SimBatch, world: int) -> tuple[NDArray[np.int32], F64]:
    """One world's active contacts: n × 2 geom ids and n signed distances."""
    # from the backend's own all-worlds contact_arrays() when it has one, else straight from
    # MuJoCo's contact buffer for MujocoBatch, else the protocol's contacts()
    own = getattr(batch, "contact_arrays", None)
    if callable(own):
        worlds, geom1, geom2, dist = own()
        mine = np.asarray(worlds) == world
        geom = np.stack([np.asarray(geom1)[mine], np.asarray(geom2)[mine]], axis=1)
        return geom.astype(np.int32), np.asarray(dist, dtype=np.float64)[mine]
    if isinstance(batch, MujocoBatch):
        d = batch.datas[world]
        n = d.ncon
        return np.array(d.contact.geom[:n], dtype=np.int32), np.array(d.contact.dist[:n])
    cs = batch.contacts(world)
    geom = np.array([(c.geom1, c.geom2) for c in cs], dtype=np.int32).reshape(-1, 2)
    return geom, np.array([c.dist for c in cs], dtype=np.float64)


def geom_mask(ngeom: int, ids: frozenset[int]) -> NDArray[np.bool_]:
    """A boolean per geom id: whether it is in ``ids``."""
    m = np.zeros(ngeom, dtype=bool)
    m[list(ids)] = True
    return m
